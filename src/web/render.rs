//! Templates (handlebars, strict mode, built into the binary), the page layout, the
//! error pages and redirects.

use std::sync::LazyLock;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use handlebars::Handlebars;
use serde_json::{json, Value};

use super::assets::{CSS, JS};
use crate::error::AppError;

static TEMPLATES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    let sources: &[(&str, &str)] = &[
        ("layout", include_str!("templates/layout.hbs")),
        ("error", include_str!("templates/error.hbs")),
        ("signin", include_str!("templates/signin.hbs")),
        ("signup", include_str!("templates/signup.hbs")),
        ("projects", include_str!("templates/projects.hbs")),
        ("list", include_str!("templates/list.hbs")),
        ("board", include_str!("templates/board.hbs")),
        ("task", include_str!("templates/task.hbs")),
        ("my_tasks", include_str!("templates/my_tasks.hbs")),
        ("settings", include_str!("templates/settings.hbs")),
        ("account", include_str!("templates/account.hbs")),
        ("project_nav", include_str!("templates/project_nav.hbs")),
        ("unsubscribe", include_str!("templates/unsubscribe.hbs")),
        ("webhook", include_str!("templates/webhook.hbs")),
        ("import_report", include_str!("templates/import_report.hbs")),
        ("complete", include_str!("templates/complete.hbs")),
    ];
    for &(name, src) in sources {
        h.register_template_string(name, src).unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    h
});

/// What every page knows about the viewer.
#[derive(Clone, Default)]
pub struct Ctx {
    /// `{display_name, email}` when signed in.
    pub me: Option<Value>,
    pub csrf: String,
    pub flash: Option<&'static str>,
    /// Cookies to set with the page (the sign-in form's token, clearing a flash).
    pub cookies: Vec<HeaderValue>,
}

/// Which main navigation entry is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    None,
    Projects,
    MyTasks,
    Account,
}

fn render(name: &str, data: &Value) -> Result<String, AppError> {
    TEMPLATES.render(name, data).map_err(|e| AppError::Internal(anyhow::anyhow!("rendering {name}: {e}")))
}

/// A full page: the template `name` rendered with `data` (an object, to which `csrf`
/// and `me` are added) inside the layout.
pub fn page(ctx: &Ctx, status: StatusCode, nav: Nav, name: &str, title: &str, mut data: Value) -> Response {
    if let Some(obj) = data.as_object_mut() {
        obj.insert("csrf".into(), json!(ctx.csrf));
        obj.insert("me".into(), ctx.me.clone().unwrap_or(Value::Null));
    }
    let content = match render(name, &data) {
        Ok(c) => c,
        Err(e) => return error_response(e),
    };
    let layout = json!({
        "title": title,
        "content": content,
        "me": ctx.me.clone().unwrap_or(Value::Null),
        "csrf": ctx.csrf,
        "flash": ctx.flash,
        "css": format!("/assets/{}", CSS.name),
        "js": format!("/assets/{}", JS.name),
        "nav_projects": nav == Nav::Projects,
        "nav_my": nav == Nav::MyTasks,
        "nav_account": nav == Nav::Account,
    });
    let html = match render("layout", &layout) {
        Ok(h) => h,
        Err(e) => return error_response(e),
    };
    let mut res =
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], html).into_response();
    for c in &ctx.cookies {
        res.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    res
}

/// The 4xx/5xx page, in the same design; the 500 page shows the trace id.
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let trace_id = if status.is_server_error() { crate::telemetry::current_trace_id() } else { None };
    let data = json!({
        "status": status.as_u16(),
        "heading": heading,
        "message": message,
        "trace_id": trace_id,
    });
    page(&Ctx::default(), status, Nav::None, "error", heading, data)
}

/// The page for an error from the shared handlers.
pub fn error_response(err: AppError) -> Response {
    let status = err.status();
    let message = match &err {
        AppError::Forbidden(m) | AppError::BadRequest(_, m) | AppError::Conflict(_, m) => m.clone(),
        AppError::Unprocessable(errs) => errs.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" "),
        AppError::NotFound => "This page does not exist, or you do not have access to it.".into(),
        AppError::PreconditionFailed => "Someone changed this while you were editing it. Reload and try again.".into(),
        AppError::TooManyRequests { .. } => "Too many attempts. Wait a little and try again.".into(),
        _ if status.is_server_error() => "Something went wrong on our side. Try again in a moment.".into(),
        _ => "The request could not be completed.".into(),
    };
    if status.is_server_error() {
        tracing::error!(error = %err, cause = ?err, "page failed");
    }
    let heading = match status.as_u16() {
        403 => "You cannot do this",
        404 => "Not found",
        409 => "Conflict",
        422 => "Some values are invalid",
        429 => "Slow down",
        s if s >= 500 => "Something went wrong",
        _ => "Request refused",
    };
    error_page(status, heading, &message)
}

/// 303 See Other (POST-redirect-GET), optionally with a one-time message.
pub fn redirect(to: &str, flash: Option<&'static str>) -> Response {
    let mut res = axum::response::Redirect::to(to).into_response();
    if let Some(key) = flash {
        if let Ok(v) = HeaderValue::from_str(&format!("tm_flash={key}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60")) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// One-time messages, by key (the cookie carries only the key).
pub fn flash_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "project_created" => "Project created.",
        "project_saved" => "Project saved.",
        "project_archived" => "Project archived.",
        "project_restored" => "Project restored.",
        "task_added" => "Task added.",
        "task_saved" => "Task saved.",
        "task_recurred" => "Task completed. The next occurrence was created.",
        "task_moved" => "Task moved.",
        "task_deleted" => "Task deleted.",
        "comment_added" => "Comment added.",
        "member_added" => "Member added.",
        "member_saved" => "Member updated.",
        "member_removed" => "Member removed.",
        "label_added" => "Label added.",
        "label_deleted" => "Label deleted.",
        "profile_saved" => "Profile saved.",
        "password_changed" => "Password changed.",
        "token_revoked" => "Token revoked.",
        "notifications_saved" => "Notification settings saved.",
        "webhook_added" => "Webhook added.",
        "checklist_saved" => "Checklist saved.",
        "relation_saved" => "Relations saved.",
        "attachment_added" => "File attached.",
        "attachment_deleted" => "Attachment deleted.",
        "bulk_updated" => "The selected tasks were changed.",
        "bulk_deleted" => "The selected tasks were deleted.",
        "webhook_deleted" => "Webhook deleted.",
        "webhook_confirmed" => "Webhook confirmed: it sends again.",
        "signed_out" => "You are signed out.",
        "registered" => "If this address had no account, it has one now: sign in with it.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_errors_render() {
        let res = error_page(StatusCode::NOT_FOUND, "Not found", "<b>x</b>");
        assert_eq!(res.status(), 404);
        let res = error_response(AppError::Internal(anyhow::anyhow!("boom")));
        assert_eq!(res.status(), 500);
    }
}
