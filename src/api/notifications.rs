//! The caller's e-mail notification settings.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access::Fields,
    docs::{ReadErrors, WriteErrors},
};
use crate::{
    auth::Principal,
    db::repo::{self, notifications::SettingsRow},
    domain::now_millis,
    error::AppResult,
    extract::ApiJson,
    notify::schedule::MAX_LEAD_MINUTES,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, update_settings))
}

/// Which e-mails the account receives, and when.
#[derive(Serialize, ToSchema)]
pub struct NotificationSettings {
    /// A task is assigned to you (by someone else).
    pub assigned: bool,
    /// A task assigned to you is due within `reminder_lead_minutes`.
    pub due_soon: bool,
    /// A daily digest of your overdue and due-today tasks at `digest_time`.
    pub digest: bool,
    /// Someone comments on a task you created or are assigned to.
    pub comment: bool,
    /// How long before the due time the due-soon reminder goes out (5 minutes … 7 days).
    pub reminder_lead_minutes: i64,
    /// When the digest goes out, `HH:MM` in your time zone.
    pub digest_time: String,
}

impl From<&SettingsRow> for NotificationSettings {
    fn from(s: &SettingsRow) -> Self {
        NotificationSettings {
            assigned: s.assigned == 1,
            due_soon: s.due_soon == 1,
            digest: s.digest == 1,
            comment: s.comment == 1,
            reminder_lead_minutes: s.reminder_lead_minutes,
            digest_time: format!("{:02}:{:02}", s.digest_minute / 60, s.digest_minute % 60),
        }
    }
}

/// Changes to the settings; absent fields stay as they are.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateNotificationSettings {
    pub assigned: Option<bool>,
    pub due_soon: Option<bool>,
    pub digest: Option<bool>,
    pub comment: Option<bool>,
    pub reminder_lead_minutes: Option<i64>,
    /// `HH:MM`, 24-hour clock, in your time zone.
    pub digest_time: Option<String>,
}

/// Minutes since midnight of an `HH:MM` time.
pub fn parse_digest_time(raw: &str) -> Option<i64> {
    let (h, m) = raw.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// Your e-mail notification settings.
#[utoipa::path(get, path = "/me/notifications", tag = "me", security(("session" = []), ("token" = [])),
    responses((status = 200, body = NotificationSettings), ReadErrors))]
pub async fn get_settings(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<axum::Json<NotificationSettings>> {
    let mut c = state.db.conn().await?;
    let s = repo::notifications::settings(&state.db, &mut c, principal.id()).await?;
    Ok(axum::Json(NotificationSettings::from(&s)))
}

/// Changes your e-mail notification settings.
#[utoipa::path(patch, path = "/me/notifications", tag = "me", request_body = UpdateNotificationSettings,
    security(("session" = []), ("token" = [])), responses((status = 200, body = NotificationSettings), WriteErrors))]
pub async fn update_settings(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<UpdateNotificationSettings>,
) -> AppResult<axum::Json<NotificationSettings>> {
    principal.require_write()?;
    let mut f = Fields::default();
    if body.reminder_lead_minutes.is_some_and(|m| !(5..=MAX_LEAD_MINUTES).contains(&m)) {
        f.push("reminder_lead_minutes", "out_of_range", "reminder_lead_minutes must be between 5 and 10080 (7 days)");
    }
    let digest_minute = match body.digest_time.as_deref() {
        Some(raw) => {
            let parsed = parse_digest_time(raw);
            if parsed.is_none() {
                f.push("digest_time", "invalid", "digest_time must be HH:MM on a 24-hour clock, e.g. 08:00");
            }
            parsed
        }
        None => None,
    };
    f.finish()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    let mut s = repo::notifications::settings(db, &mut tx, principal.id()).await?;
    let flag = |v: Option<bool>, old: i64| v.map(i64::from).unwrap_or(old);
    s.assigned = flag(body.assigned, s.assigned);
    s.due_soon = flag(body.due_soon, s.due_soon);
    s.digest = flag(body.digest, s.digest);
    s.comment = flag(body.comment, s.comment);
    s.reminder_lead_minutes = body.reminder_lead_minutes.unwrap_or(s.reminder_lead_minutes);
    s.digest_minute = digest_minute.unwrap_or(s.digest_minute);
    repo::notifications::save_settings(db, &mut tx, principal.id(), &s, now_millis()).await?;
    tx.commit().await?;
    Ok(axum::Json(NotificationSettings::from(&s)))
}

#[cfg(test)]
mod tests {
    use super::parse_digest_time;

    #[test]
    fn digest_times() {
        assert_eq!(parse_digest_time("08:00"), Some(480));
        assert_eq!(parse_digest_time("23:59"), Some(1439));
        assert_eq!(parse_digest_time("00:00"), Some(0));
        for bad in ["24:00", "8:00", "08:60", "0800", "", "ab:cd", "-1:00"] {
            assert_eq!(parse_digest_time(bad), None, "{bad}");
        }
    }
}
