//! E-mail notifications: what happened is written to the outbox in the transaction
//! of the change (`events`), scheduled scans queue due-soon reminders and daily
//! digests (`schedule`), and the outbox sender renders (`templates`) and delivers them
//! over SMTP (`mailer`, `outbox`) with retries. Every e-mail carries a signed
//! one-click unsubscribe link for its kind (`unsubscribe`).
//!
//! Delivery is at-least-once with one known window for a duplicate: a replica that
//! dies after the SMTP relay accepted a message and before it marked the row sent.
//! The row's claim then expires and another replica sends it again.

pub mod events;
pub mod mailer;
pub mod outbox;
pub mod schedule;
pub mod templates;
pub mod unsubscribe;

use std::fmt;

/// The reminder-timeliness objective: a due-soon reminder is on time when the SMTP relay
/// accepts it within 2 minutes of its scheduled time (`slo/reminder-timeliness.yaml`).
pub const REMINDER_OBJECTIVE_MS: i64 = 120_000;

use crate::{config::Config, db::Db, domain::now_millis, error::AppError};

/// What a notification is about; also the name of its setting and template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Assigned,
    DueSoon,
    Digest,
    Comment,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Assigned, Kind::DueSoon, Kind::Digest, Kind::Comment];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Assigned => "assigned",
            Kind::DueSoon => "due_soon",
            Kind::Digest => "digest",
            Kind::Comment => "comment",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// How people read the kind (unsubscribe page, settings).
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Assigned => "a task is assigned to you",
            Kind::DueSoon => "a task assigned to you is due soon",
            Kind::Digest => "your daily digest of overdue and due-today tasks",
            Kind::Comment => "someone comments on a task you created or are assigned to",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The notification machinery shared by handlers and jobs: the SMTP transport (absent
/// when none is configured), the templates and the unsubscribe signing key.
pub struct Notifier {
    pub mailer: Option<mailer::Mailer>,
    pub templates: templates::Templates,
    pub links: unsubscribe::Links,
}

impl Notifier {
    pub async fn build(config: &Config, db: &Db) -> anyhow::Result<Notifier> {
        let mailer = mailer::Mailer::from_config(config)?;
        if mailer.is_none() {
            tracing::info!("no SMTP relay configured (TM_SMTP_HOST): notifications are recorded as undeliverable");
        }
        let templates = templates::Templates::load(config.email_templates_dir.as_deref())?;
        let key = signing_key(db).await?;
        Ok(Notifier { mailer, templates, links: unsubscribe::Links::new(&config.public_url, key) })
    }
}

/// The unsubscribe signing key: random, created once in the database so every replica
/// signs and verifies with the same key without any configuration.
async fn signing_key(db: &Db) -> Result<Vec<u8>, AppError> {
    use rand::RngCore;
    let mut fresh = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    let mut tx = db.begin().await?;
    let value =
        crate::db::repo::notifications::server_secret(db, &mut tx, "unsubscribe", &hex::encode(fresh), now_millis())
            .await?;
    tx.commit().await?;
    hex::decode(value).map_err(|e| AppError::Internal(anyhow::anyhow!("stored unsubscribe key: {e}")))
}
