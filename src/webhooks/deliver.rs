//! The webhook sender: claims due deliveries (like the e-mail outbox), posts each one
//! to its webhook's URL pinned to a checked public address, without following
//! redirects, and records the answer. A non-2xx answer or a network error is retried
//! with the notification backoff until the last attempt; a refused target (a private
//! address) fails at once.

use std::time::Instant;

use reqwest::{header, redirect::Policy};
use tracing::Instrument;

use super::{signature, target};
use crate::{
    db::repo::{
        self,
        webhooks::{Attempt, ClaimedDelivery},
    },
    domain::now_millis,
    error::AppError,
    notify::outbox::backoff,
    state::AppState,
};

const BATCH: i64 = 20;
const MAX_ROUNDS: usize = 50;

/// Delivers what is due. Returns how many deliveries were attempted.
pub async fn deliver_due(state: &AppState) -> Result<usize, AppError> {
    let lease_ms = (state.config.webhook_timeout.as_millis() as i64) * 2 + 30_000;
    let started = now_millis();
    let mut handled = 0;
    for _ in 0..MAX_ROUNDS {
        let mut tx = state.db.begin().await?;
        let claimed = repo::webhooks::claim(&state.db, &mut tx, started, lease_ms, BATCH).await?;
        tx.commit().await?;
        if claimed.is_empty() {
            break;
        }
        for d in claimed {
            let span = tracing::info_span!(
                "webhook.deliver",
                otel.name = "webhook.deliver",
                otel.kind = "client",
                webhook.event = d.event.as_str(),
                webhook.id = d.webhook_id,
                webhook.attempt = d.attempts
            );
            deliver_one(state, &d).instrument(span).await?;
            handled += 1;
        }
    }
    Ok(handled)
}

/// What one attempt ended with.
enum Answer {
    Delivered {
        status: u16,
    },
    /// Worth retrying: a network error or a non-2xx answer.
    Failed {
        status: Option<u16>,
        error: String,
    },
    /// Never worth retrying: the webhook is gone, disabled or points somewhere refused.
    Refused(String),
}

async fn deliver_one(state: &AppState, d: &ClaimedDelivery) -> Result<(), AppError> {
    let start = Instant::now();
    let answer = attempt(state, d).await?;
    let duration_ms = start.elapsed().as_millis() as i64;
    let m = &state.metrics;
    let now = now_millis();
    let max_attempts = i64::from(state.config.notify_max_attempts);
    let record = match &answer {
        Answer::Delivered { status } => {
            m.webhook_deliveries.with_label_values(&["delivered"]).inc();
            m.webhook_duration.observe(duration_ms as f64 / 1000.0);
            Attempt {
                status: "delivered",
                next_attempt_at: None,
                response_status: Some(i64::from(*status)),
                error: None,
                duration_ms: Some(duration_ms),
                now,
            }
        }
        Answer::Failed { status, error } => {
            m.webhook_deliveries.with_label_values(&["failed"]).inc();
            m.webhook_duration.observe(duration_ms as f64 / 1000.0);
            tracing::warn!(delivery = d.id, attempt = d.attempts, error = %error, "webhook delivery failed");
            let last = d.attempts >= max_attempts;
            let retry_at = now
                + backoff(state.config.notify_retry_base, state.config.notify_retry_max, d.attempts).as_millis() as i64;
            Attempt {
                status: if last { "failed" } else { "pending" },
                next_attempt_at: (!last).then_some(retry_at),
                response_status: status.map(i64::from),
                error: Some(error.as_str()),
                duration_ms: Some(duration_ms),
                now,
            }
        }
        Answer::Refused(error) => {
            m.webhook_deliveries.with_label_values(&["refused"]).inc();
            tracing::warn!(delivery = d.id, error = %error, "webhook delivery refused");
            Attempt {
                status: "failed",
                next_attempt_at: None,
                response_status: None,
                error: Some(error.as_str()),
                duration_ms: None,
                now,
            }
        }
    };
    let mut tx = state.db.begin().await?;
    repo::webhooks::finish(&state.db, &mut tx, d.id, record).await?;
    tx.commit().await?;
    Ok(())
}

async fn attempt(state: &AppState, d: &ClaimedDelivery) -> Result<Answer, AppError> {
    let allow = state.config.webhook_allow_private_targets;
    let webhook = {
        let mut c = state.db.conn().await?;
        repo::webhooks::by_id(&state.db, &mut c, d.webhook_id).await?
    };
    let Some(webhook) = webhook.filter(|w| w.active == 1 && w.paused_reason.is_none()) else {
        return Ok(Answer::Refused("the webhook was disabled".into()));
    };
    let url = match target::check_url(&webhook.url, allow) {
        Ok(u) => u,
        Err(e) => return Ok(Answer::Refused(e.into())),
    };
    let addr = match target::resolve(&url, allow).await {
        Ok(a) => a,
        Err(e) if e.starts_with("refused") => return Ok(Answer::Refused(e)),
        Err(e) => return Ok(Answer::Failed { status: None, error: e }),
    };
    let host = url.host_str().unwrap_or_default().to_owned();
    // No proxy from the environment: a proxy would make the connection itself, to the
    // name rather than to the address checked above, and the pin would not hold.
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(Policy::none())
        .timeout(state.config.webhook_timeout)
        .resolve(&host, addr)
        .user_agent(concat!("task-manager-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AppError::Internal(e.into()))?;
    let sent_at = now_millis() / 1000;
    let result = client
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-TaskManager-Event", d.event.as_str())
        .header("X-TaskManager-Delivery", d.event_id.as_str())
        .header("X-TaskManager-Signature", signature(&webhook.secret, sent_at, &d.payload))
        .body(d.payload.clone())
        .send()
        .await;
    Ok(match result {
        Ok(res) if res.status().is_success() => Answer::Delivered { status: res.status().as_u16() },
        Ok(res) if res.status().is_redirection() => Answer::Failed {
            status: Some(res.status().as_u16()),
            error: format!("HTTP {} (redirects are not followed)", res.status().as_u16()),
        },
        Ok(res) => {
            Answer::Failed { status: Some(res.status().as_u16()), error: format!("HTTP {}", res.status().as_u16()) }
        }
        Err(e) => Answer::Failed { status: None, error: format!("{e}") },
    })
}
