//! A browser-like client for the UI over plain HTTP: a cookie jar, no automatic
//! redirects, and the CSRF token read from each page.

use reqwest::{header, redirect::Policy, Client, Response, StatusCode};

use crate::common::TestApp;

pub const PASSWORD: &str = "correct horse battery";

pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub client: Client,
    /// The CSRF token of the last page read.
    pub csrf: String,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Page {
    pub async fn from(res: Response) -> Page {
        let status = res.status();
        let headers = res.headers().clone();
        let location = headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
        Page { status, location, headers, body: res.text().await.unwrap() }
    }

    pub fn redirects_to(&self, path: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "expected a redirect to {path}: {}", self.excerpt());
        assert_eq!(self.location.as_deref(), Some(path));
    }

    pub fn excerpt(&self) -> String {
        let start = self.body.find("<main").unwrap_or(0);
        self.body[start..].chars().take(3000).collect()
    }
}

/// The value of the first `name="_csrf"` field or the meta tag.
pub fn csrf_in(html: &str) -> Option<String> {
    let marker = "name=\"csrf-token\" content=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned()).filter(|t| !t.is_empty())
}

/// The `href` of the first link to a path starting with `prefix`.
pub fn link_starting(html: &str, prefix: &str) -> Option<String> {
    let marker = format!("href=\"{prefix}");
    let start = html.find(&marker)? + "href=\"".len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&").replace("&#x3D;", "="))
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        Browser { app, client, csrf: String::new() }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let page = Page::from(self.client.get(self.app.url(path)).send().await.unwrap()).await;
        if let Some(t) = csrf_in(&page.body) {
            self.csrf = t;
        }
        page
    }

    /// Submits a form with the current CSRF token (and this site's Origin).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf.clone();
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, Some(&format!("http://{}", self.app.addr))).await
    }

    /// Submits exactly these fields, with an optional Origin header.
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Page {
        let mut req = self.client.post(self.app.url(path)).form(fields);
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        let page = Page::from(req.send().await.unwrap()).await;
        if let Some(t) = csrf_in(&page.body) {
            self.csrf = t;
        }
        page
    }

    /// Signs up through the form, then signs in (sign-up answers alike for new and
    /// taken addresses, so it cannot sign in by itself).
    pub async fn sign_up(&mut self, name: &str) {
        let page = self.get("/signup").await;
        assert_eq!(page.status, 200, "{}", page.excerpt());
        let email = format!("{name}@example.com");
        let res = self
            .post("/signup", &[("display_name", name), ("email", &email), ("password", PASSWORD), ("time_zone", "UTC")])
            .await;
        res.redirects_to("/signin");
        self.get("/signin").await;
        let res = self.post("/signin", &[("email", &email), ("password", PASSWORD)]).await;
        res.redirects_to("/projects");
        let page = self.get("/projects").await;
        assert_eq!(page.status, 200);
    }

    /// Creates a project through the form; returns its id.
    pub async fn project(&mut self, name: &str) -> i64 {
        self.get("/projects").await;
        let res = self.post("/projects", &[("name", name), ("description", "")]).await;
        assert_eq!(res.status, 303, "{}", res.excerpt());
        let loc = res.location.unwrap();
        loc.trim_start_matches("/projects/").trim_end_matches("/board").parse().unwrap()
    }

    /// Adds a task through the quick-add form; returns its id.
    pub async fn task(&mut self, project: i64, title: &str) -> i64 {
        self.get(&format!("/projects/{project}")).await;
        let res = self.post(&format!("/projects/{project}/tasks"), &[("title", title)]).await;
        assert_eq!(res.status, 303, "{}", res.excerpt());
        let page = self.get(&format!("/projects/{project}?sort=created_at&order=desc&limit=1")).await;
        link_starting(&page.body, "/tasks/").unwrap().trim_start_matches("/tasks/").parse().unwrap()
    }
}
