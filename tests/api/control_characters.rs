//! NUL and other control characters, generated, in every string field of the main
//! endpoints (JSON bodies and the `q` filter), signed in and anonymous: each answer is
//! 422 with the problem shape, and nothing changes in the database. PostgreSQL
//! refuses NUL in text, so this once was a 500 there.

use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{both, common::*, helpers::*};

/// Text around one forbidden character: C0 controls but tab and line breaks, DEL, C1.
fn hostile_text() -> impl Strategy<Value = String> {
    let control = prop_oneof![
        Just(0u32),
        (1u32..0x20).prop_filter("tab and line breaks are text", |c| ![9, 10, 13].contains(c)),
        Just(0x7fu32),
        0x80u32..0xa0,
    ]
    .prop_map(|c: u32| char::from_u32(c).unwrap());
    ("[a-z@. ]{0,6}", control, "[a-z.]{0,6}").prop_map(|(a, c, b)| format!("{a}{c}{b}"))
}

/// Values drawn from the strategy with a fixed seed, so a failure reproduces.
fn samples(n: usize) -> Vec<String> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let strategy = hostile_text();
    (0..n).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect()
}

/// Replaces the value at a JSON pointer.
fn with(body: &Value, pointer: &str, text: &str) -> Value {
    let mut body = body.clone();
    *body.pointer_mut(pointer).unwrap() = Value::String(text.to_owned());
    body
}

both!(control_characters_in_any_text_field_are_422_and_change_nothing, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("nora").await;
    app.user("mira").await;
    let pid = create_project(&app, &owner, "Plans").await;
    let tid = create_task(&app, &owner, pid, json!({"title": "Draft"})).await["id"].as_i64().unwrap();
    let anonymous = app.client();
    let endpoints: Vec<(Method, String, Value, Vec<&str>, bool)> = vec![
        (
            Method::POST,
            "/api/v1/auth/register".into(),
            json!({"email": "x@example.com", "password": "a long enough passphrase", "display_name": "X", "time_zone": "UTC"}),
            vec!["/email", "/password", "/display_name", "/time_zone"],
            false,
        ),
        (
            Method::POST,
            "/api/v1/auth/login".into(),
            json!({"email": "nora@example.com", "password": PASSWORD}),
            vec!["/email", "/password"],
            false,
        ),
        (
            Method::PATCH,
            "/api/v1/me".into(),
            json!({"display_name": "N", "time_zone": "UTC"}),
            vec!["/display_name", "/time_zone"],
            true,
        ),
        (Method::POST, "/api/v1/me/tokens".into(), json!({"name": "ci", "scope": "read"}), vec!["/name"], true),
        (
            Method::POST,
            "/api/v1/projects".into(),
            json!({"name": "P", "description": "d"}),
            vec!["/name", "/description"],
            true,
        ),
        (
            Method::PATCH,
            format!("/api/v1/projects/{pid}"),
            json!({"name": "P", "description": "d"}),
            vec!["/name", "/description"],
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/projects/{pid}/labels"),
            json!({"name": "l", "color": "#aabbcc"}),
            vec!["/name", "/color"],
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/projects/{pid}/members"),
            json!({"email": "mira@example.com", "role": "editor"}),
            vec!["/email", "/role"],
            true,
        ),
        (
            Method::POST,
            format!("/api/v1/projects/{pid}/tasks"),
            json!({"title": "t", "description": "d"}),
            vec!["/title", "/description"],
            true,
        ),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{tid}"),
            json!({"title": "t", "description": "d"}),
            vec!["/title", "/description"],
            true,
        ),
        (Method::POST, format!("/api/v1/tasks/{tid}/comments"), json!({"body": "c"}), vec!["/body"], true),
        (Method::POST, format!("/api/v1/tasks/{tid}/checklist"), json!({"text": "i"}), vec!["/text"], true),
        (
            Method::POST,
            format!("/api/v1/projects/{pid}/webhooks"),
            json!({"url": "https://hooks.example.com/x", "events": ["task.created"], "secret": "0123456789abcdef"}),
            vec!["/url", "/events/0", "/secret"],
            true,
        ),
    ];
    let before = snapshot(&app).await;
    let values = samples(6);
    for (method, path, body, fields, signed_in) in &endpoints {
        let client = if *signed_in { &owner } else { &anonymous };
        for field in fields {
            for text in &values {
                let sent = with(body, field, text);
                let (status, answer) = app.call(client, method.clone(), path, Some(sent)).await;
                assert_eq!(status, 422, "{method} {path} {field}={text:?}: {answer}");
                assert_problem_shape(status, &answer);
            }
        }
    }
    for path in ["/api/v1/tasks".to_owned(), format!("/api/v1/projects/{pid}/tasks")] {
        for text in &values {
            let r = owner.get(app.url(&path)).query(&[("q", text.as_str())]).send().await.unwrap();
            let (status, answer) = decode(r).await;
            assert_eq!(status, 422, "{path}?q={text:?}: {answer}");
        }
    }
    assert_eq!(snapshot(&app).await, before, "a refused request changed the database");
});
