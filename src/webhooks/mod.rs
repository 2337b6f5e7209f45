//! Outbound webhooks: a project's owners register URLs for chosen events; each event
//! is queued in the transaction of the change (`emit`) and delivered by the outbox
//! sender (`deliver`) with retries, signed with HMAC-SHA256 over the timestamp and
//! the body, never following redirects and never to non-public addresses unless an
//! administrator allows it (`target`).
//!
//! Receivers verify `X-TaskManager-Signature: t=<unix seconds>,v1=<hex>` where
//! `v1 = HMAC-SHA256(secret, "<t>.<body>")`, and reject a `t` older than 5 minutes
//! (the replay window). `X-TaskManager-Delivery` is unique per delivery and repeats
//! on retries, so a receiver can drop duplicates.

pub mod deliver;
pub mod target;

use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::{
    db::{
        repo::{self, Connection},
        Db,
    },
    domain::{now_millis, to_rfc3339},
};

/// Events a webhook can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    TaskCreated,
    TaskUpdated,
    TaskCompleted,
    TaskDeleted,
    CommentCreated,
}

impl Event {
    pub const ALL: [Event; 5] =
        [Event::TaskCreated, Event::TaskUpdated, Event::TaskCompleted, Event::TaskDeleted, Event::CommentCreated];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::TaskCreated => "task.created",
            Event::TaskUpdated => "task.updated",
            Event::TaskCompleted => "task.completed",
            Event::TaskDeleted => "task.deleted",
            Event::CommentCreated => "comment.created",
        }
    }

    pub fn parse(raw: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

/// Queues `event` for every webhook of the project that wants it, in the caller's
/// transaction. `data` is merged into the payload (`{"task": ...}`).
pub async fn emit(db: &Db, c: &mut Connection, project_id: i64, event: Event, data: Value) -> Result<u64, sqlx::Error> {
    let mut id = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut id);
    let event_id = format!("evt_{}", hex::encode(id));
    let now = now_millis();
    let mut payload = json!({
        "id": event_id,
        "event": event.as_str(),
        "created_at": to_rfc3339(now),
        "project_id": project_id,
    });
    if let (Some(p), Value::Object(extra)) = (payload.as_object_mut(), data) {
        p.extend(extra);
    }
    repo::webhooks::enqueue(db, c, project_id, event.as_str(), &event_id, &payload.to_string(), now).await
}

/// The `X-TaskManager-Signature` value of a body sent at `unix_seconds`.
pub fn signature(secret: &str, unix_seconds: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{unix_seconds}.{body}").as_bytes());
    format!("t={unix_seconds},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Parses a comma-separated list of event names, refusing unknown ones; the result
/// is sorted and without repeats.
pub fn parse_events(names: &[String]) -> Result<Vec<Event>, String> {
    let mut out = Vec::new();
    for n in names {
        let e = Event::parse(n.trim()).ok_or_else(|| format!("unknown event {n:?}"))?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out.sort_by_key(|e| Event::ALL.iter().position(|x| x == e));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_time_and_body() {
        let s = signature("whsec", 1_700_000_000, r#"{"a":1}"#);
        assert!(s.starts_with("t=1700000000,v1=") && s.len() == "t=1700000000,v1=".len() + 64);
        assert_ne!(s, signature("whsec", 1_700_000_001, r#"{"a":1}"#));
        assert_ne!(s, signature("whsec", 1_700_000_000, r#"{"a":2}"#));
        assert_ne!(s, signature("other", 1_700_000_000, r#"{"a":1}"#));
    }

    #[test]
    fn events_parse_strictly() {
        let got = parse_events(&["task.deleted".into(), "task.created".into(), "task.created".into()]).unwrap();
        assert_eq!(got, vec![Event::TaskCreated, Event::TaskDeleted]);
        assert!(parse_events(&["task.exploded".into()]).is_err());
    }
}
