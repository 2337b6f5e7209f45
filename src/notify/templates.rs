//! E-mail templates: handlebars in strict mode, built into the binary, each one
//! replaceable by a file of the same name (`due_soon.html.hbs`, ...) in the directory
//! named by `email_templates_dir`. HTML parts escape every value; plain-text parts and
//! subjects do not (they are not HTML), and subjects lose line breaks so no value can
//! add a header.

use std::path::Path;

use anyhow::Context;
use handlebars::Handlebars;
use serde_json::Value;

use super::Kind;

/// (file name, source) of every built-in template.
const BUILT_IN: &[(&str, &str)] = &[
    ("assigned.subject", include_str!("templates/assigned.subject.hbs")),
    ("assigned.txt", include_str!("templates/assigned.txt.hbs")),
    ("assigned.html", include_str!("templates/assigned.html.hbs")),
    ("due_soon.subject", include_str!("templates/due_soon.subject.hbs")),
    ("due_soon.txt", include_str!("templates/due_soon.txt.hbs")),
    ("due_soon.html", include_str!("templates/due_soon.html.hbs")),
    ("digest.subject", include_str!("templates/digest.subject.hbs")),
    ("digest.txt", include_str!("templates/digest.txt.hbs")),
    ("digest.html", include_str!("templates/digest.html.hbs")),
    ("comment.subject", include_str!("templates/comment.subject.hbs")),
    ("comment.txt", include_str!("templates/comment.txt.hbs")),
    ("comment.html", include_str!("templates/comment.html.hbs")),
    ("footer.txt", include_str!("templates/footer.txt.hbs")),
    ("footer.html", include_str!("templates/footer.html.hbs")),
    ("layout_start.html", include_str!("templates/layout_start.html.hbs")),
];

pub struct Templates {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
}

/// A rendered e-mail body.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Templates {
    /// The built-in templates, each replaced by `<dir>/<name>.hbs` when that file exists.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Templates> {
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        let mut text = Handlebars::new();
        text.set_strict_mode(true);
        text.register_escape_fn(handlebars::no_escape);
        for (name, built_in) in BUILT_IN {
            let source = match dir.map(|d| d.join(format!("{name}.hbs"))).filter(|p| p.exists()) {
                Some(path) => std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
                None => (*built_in).to_owned(),
            };
            let registry = if name.ends_with(".html") { &mut html } else { &mut text };
            let key = name.replace(".html", "_html").replace(".txt", "_txt").replace(".subject", "_subject");
            let key = if key == "layout_start_html" { "layout_start".to_owned() } else { key };
            registry.register_template_string(&key, source).with_context(|| format!("e-mail template {name}"))?;
        }
        Ok(Templates { html, text })
    }

    /// Renders the three parts of one kind's e-mail. `data` must hold every value the
    /// templates name (strict mode), including `reason`, `unsubscribe_url` and
    /// `settings_url` for the footer.
    pub fn render(&self, kind: Kind, data: &Value) -> anyhow::Result<Rendered> {
        let k = kind.as_str();
        let subject = self.text.render(&format!("{k}_subject"), data).with_context(|| format!("{k} subject"))?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut data = data.clone();
        if let Some(map) = data.as_object_mut() {
            map.insert("subject".into(), Value::String(subject.clone()));
        }
        Ok(Rendered {
            text: self.text.render(&format!("{k}_txt"), &data).with_context(|| format!("{k} text part"))?,
            html: self.html.render(&format!("{k}_html"), &data).with_context(|| format!("{k} HTML part"))?,
            subject,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn common() -> Value {
        json!({
            "recipient_name": "Ada <script>",
            "actor_name": "Grace & \"Co\"",
            "reason": "a task is assigned to you",
            "unsubscribe_url": "http://tm.test/unsubscribe/x",
            "settings_url": "http://tm.test/account#notifications",
            "task": {"title": "Ship <b>it</b>\r\nBcc: evil@example.com", "project": "Ops", "priority": "high",
                     "due": "Tue 1 Dec 2026, 09:00 (Europe/Paris)", "url": "http://tm.test/tasks/1"},
            "comment": "<img src=x onerror=alert(1)>",
        })
    }

    #[test]
    fn html_parts_escape_and_subjects_stay_on_one_line() {
        let t = Templates::load(None).unwrap();
        for kind in [Kind::Assigned, Kind::DueSoon, Kind::Comment] {
            let r = t.render(kind, &common()).unwrap();
            assert!(!r.subject.contains('\n') && !r.subject.contains('\r'), "{kind}: {:?}", r.subject);
            assert!(r.html.contains("Ship &lt;b&gt;it&lt;/b&gt;"), "{kind}: {}", r.html);
            assert!(!r.html.contains("<b>it") && !r.html.contains("<img") && !r.html.contains("<script>"));
            assert!(r.text.contains("Ship <b>it</b>"), "plain text is not HTML-escaped");
            assert!(r.text.contains("http://tm.test/unsubscribe/x") && r.html.contains("http://tm.test/unsubscribe/x"));
        }
    }

    #[test]
    fn digest_lists_overdue_and_today() {
        let t = Templates::load(None).unwrap();
        let mut data = common();
        let item = json!({"title": "Late one", "project": "Ops", "due": "yesterday", "url": "http://tm.test/tasks/2"});
        data["date"] = json!("Tue 1 Dec 2026");
        data["overdue"] = json!([item]);
        data["today"] = json!([]);
        data["overdue_count"] = json!(1);
        data["today_count"] = json!(0);
        data["my_tasks_url"] = json!("http://tm.test/my-tasks");
        let r = t.render(Kind::Digest, &data).unwrap();
        assert_eq!(r.subject, "Your tasks for Tue 1 Dec 2026: 1 overdue, 0 due today");
        assert!(r.text.contains("Overdue:") && r.text.contains("Late one") && !r.text.contains("Due today:"));
    }

    #[test]
    fn strict_mode_refuses_missing_values_and_a_directory_overrides() {
        let t = Templates::load(None).unwrap();
        assert!(t.render(Kind::Assigned, &json!({"task": {}})).is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("assigned.subject.hbs"), "New task: {{task.title}}").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(
            t.render(Kind::Assigned, &common()).unwrap().subject,
            "New task: Ship <b>it</b> Bcc: evil@example.com"
        );
    }
}
