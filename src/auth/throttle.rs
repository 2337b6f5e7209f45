//! Sign-in and sign-up throttling, shared by all replicas through the database.
//!
//! An attempt is recorded before the password is checked and counted after, so
//! concurrent attempts cannot all pass a check made before any of them was recorded.
//! Sign-in is limited three ways:
//! - per account and client address (`login_max_failures`): one address guessing one
//!   account gets 429 for the rest of the window;
//! - per client address (`login_address_max_failures`): one address guessing many accounts;
//! - per account from anywhere: past `login_max_failures`, one attempt per
//!   `login_slowdown` (doubling per further failure, up to `login_slowdown_max`) is let
//!   through. The account is slowed, never locked: a stranger cannot keep its owner out
//!   for the whole window.
//!
//! Refused callers get 429 with `Retry-After`. A successful sign-in clears the
//! account's failures; failures are otherwise kept for the window.

use crate::{
    config::Config,
    db::{repo, Db},
    domain::now_millis,
    error::AppError,
};

pub struct Subjects {
    pub account: String,
    pub address: String,
    pub pair: String,
}

impl Subjects {
    pub fn new(email_normalized: &str, address: &str) -> Self {
        Subjects {
            account: format!("account:{email_normalized}"),
            address: format!("address:{address}"),
            pair: format!("pair:{address}|{email_normalized}"),
        }
    }
}

/// The recorded attempt; it stays a failure unless `succeeded` or `withdraw` is called.
pub struct Reservation {
    address: i64,
    pair: i64,
    account: i64,
}

fn too_many(retry_ms: i64) -> AppError {
    AppError::TooManyRequests { retry_after_secs: (retry_ms.max(1000) as u64).div_ceil(1000) }
}

/// Records a sign-in attempt and refuses it (taking it back) when a limit is reached.
pub async fn reserve_sign_in(db: &Db, config: &Config, s: &Subjects) -> Result<Reservation, AppError> {
    let now = now_millis();
    let mut tx = db.begin().await?;
    let address = repo::throttle::reserve(db, &mut tx, &s.address, now).await?;
    let pair = repo::throttle::reserve(db, &mut tx, &s.pair, now).await?;
    let account = repo::throttle::reserve(db, &mut tx, &s.account, now).await?;
    tx.commit().await?;
    let r = Reservation { address, pair, account };
    match judge(db, config, s, &r, now).await {
        Ok(()) => Ok(r),
        Err(e) => {
            // Best effort: an attempt left behind only counts as one more failure.
            let _ = withdraw(db, r).await;
            Err(e)
        }
    }
}

async fn judge(db: &Db, config: &Config, s: &Subjects, r: &Reservation, now: i64) -> Result<(), AppError> {
    let window = config.login_window.as_millis() as i64;
    let since = now - window;
    let max = i64::from(config.login_max_failures);
    let mut c = db.conn().await?;
    for (subject, id, limit) in
        [(&s.address, r.address, i64::from(config.login_address_max_failures)), (&s.pair, r.pair, max)]
    {
        let (others, oldest, _) = repo::throttle::others_since(db, &mut c, subject, since, id).await?;
        if others >= limit {
            return Err(too_many(oldest.unwrap_or(now) + window - now));
        }
    }
    let (failures, _, newest) = repo::throttle::others_since(db, &mut c, &s.account, since, r.account).await?;
    if failures >= max {
        let interval = slowdown_ms(config, failures - max);
        let since_last = now - newest.unwrap_or(0);
        if since_last < interval {
            return Err(too_many(interval - since_last));
        }
    }
    Ok(())
}

/// Interval between attempts let through on an account with `excess` failures more
/// than the limit.
fn slowdown_ms(config: &Config, excess: i64) -> i64 {
    let base = config.login_slowdown.as_millis() as i64;
    let cap = config.login_slowdown_max.as_millis() as i64;
    base.saturating_mul(1 << excess.clamp(0, 20)).min(cap).max(base.min(cap))
}

/// The password was right: the account's and this pair's failures are forgiven.
pub async fn succeeded(db: &Db, s: &Subjects, r: Reservation) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    repo::throttle::clear(db, &mut tx, &s.account).await?;
    repo::throttle::clear(db, &mut tx, &s.pair).await?;
    repo::throttle::release(db, &mut tx, &[r.address]).await?;
    tx.commit().await?;
    Ok(())
}

/// The attempt was not judged (e.g. no hashing slot): it does not count.
pub async fn withdraw(db: &Db, r: Reservation) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    repo::throttle::release(db, &mut tx, &[r.address, r.pair, r.account]).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a sign-up from `address` and refuses it past `registration_max_per_address`
/// in `registration_window`. Sign-ups are kept as attempts whatever their outcome.
pub async fn reserve_sign_up(db: &Db, config: &Config, address: &str) -> Result<(), AppError> {
    let subject = format!("register:{address}");
    let now = now_millis();
    let window = config.registration_window.as_millis() as i64;
    let mut tx = db.begin().await?;
    let id = repo::throttle::reserve(db, &mut tx, &subject, now).await?;
    tx.commit().await?;
    let mut c = db.conn().await?;
    let (others, oldest, _) = repo::throttle::others_since(db, &mut c, &subject, now - window, id).await?;
    drop(c);
    if others >= i64::from(config.registration_max_per_address) {
        let mut tx = db.begin().await?;
        repo::throttle::release(db, &mut tx, &[id]).await?;
        tx.commit().await?;
        return Err(too_many(oldest.unwrap_or(now) + window - now));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_slowdown_doubles_up_to_its_cap() {
        let config = Config {
            login_slowdown: Duration::from_secs(1),
            login_slowdown_max: Duration::from_secs(60),
            ..Config::default()
        };
        let steps: Vec<i64> = (0..9).map(|e| slowdown_ms(&config, e) / 1000).collect();
        assert_eq!(steps, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(slowdown_ms(&config, 1000), 60_000);
    }
}
