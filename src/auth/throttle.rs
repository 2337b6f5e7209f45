//! Sign-in throttling per account and per client address, shared by all replicas
//! through the database. Locked-out callers get 429 with `Retry-After`.

use crate::{
    db::{repo, repo::Connection, Db},
    domain::now_millis,
    error::AppError,
};

pub struct Subjects {
    pub account: String,
    pub address: String,
}

impl Subjects {
    pub fn new(email_normalized: &str, address: &str) -> Self {
        Subjects { account: format!("account:{email_normalized}"), address: format!("address:{address}") }
    }
}

/// Refuses the attempt when either subject has used up its failures in the window.
pub async fn check(db: &Db, c: &mut Connection, s: &Subjects, max: u32, window_ms: i64) -> Result<(), AppError> {
    let now = now_millis();
    for subject in [&s.account, &s.address] {
        let (count, oldest) = repo::throttle::failures_since(db, c, subject, now - window_ms).await?;
        if count >= i64::from(max) {
            let retry_ms = oldest.unwrap_or(now) + window_ms - now;
            return Err(AppError::TooManyRequests { retry_after_secs: (retry_ms.max(1000) / 1000) as u64 });
        }
    }
    Ok(())
}
