//! A short-lived, in-process cache of API tokens with their accounts, so a request with
//! a bearer token does not pay a database query for who is calling.
//!
//! What it stores is exactly what the token query returns (the token row and its
//! account); the extractor applies the same checks to a cached row as to a fresh one,
//! so expiry (checked against the clock on every use) and read-only scope (fixed at
//! creation) behave as without the cache. Changes to an account or its tokens are
//! seen:
//! - at once on the replica that made them: every such change calls `forget_user`
//!   after its commit, and a lookup that overlapped a change is not stored (the
//!   generation check), so no stale row can re-enter the cache;
//! - within `auth_cache_ttl` on other replicas, which cannot be told. A TTL of zero
//!   disables the cache.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        RwLock,
    },
    time::{Duration, Instant},
};

use crate::db::repo::{tokens::TokenRow, users::UserRow};

/// Beyond this many live tokens the cache starts over, so memory stays bounded.
const MAX_ENTRIES: usize = 10_000;

pub struct TokenCache {
    ttl: Duration,
    /// Bumped by every invalidation; a lookup stores its result only if no
    /// invalidation happened since it started.
    generation: AtomicU64,
    entries: RwLock<HashMap<String, Entry>>,
}

struct Entry {
    user: UserRow,
    token: TokenRow,
    stored: Instant,
}

/// Taken before the database lookup whose result may be stored.
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        TokenCache { ttl, generation: AtomicU64::new(0), entries: RwLock::new(HashMap::new()) }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The account and token stored for this secret hash, if still fresh.
    pub fn get(&self, secret_hash: &str) -> Option<(UserRow, TokenRow)> {
        if !self.enabled() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(secret_hash).filter(|e| e.stored.elapsed() < self.ttl)?;
        Some((e.user.clone(), e.token.clone()))
    }

    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// Stores a lookup's result unless an invalidation happened since `since`.
    pub fn store(&self, since: Generation, secret_hash: &str, user: &UserRow, token: &TokenRow) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Checked under the write lock: `forget_user` bumps the generation while
        // holding it, so a stale row cannot slip in after the invalidation.
        if self.generation.load(Ordering::Acquire) != since.0 {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.stored.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let entry = Entry { user: user.clone(), token: token.clone(), stored: Instant::now() };
        entries.insert(secret_hash.to_owned(), entry);
    }

    /// Records a token's use in the cached row, as the database now records it.
    pub fn note_use(&self, secret_hash: &str, at: i64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.get_mut(secret_hash) {
            e.token.last_used_at = Some(at);
        }
    }

    /// Drops every cached token of the account. Call after committing any change to
    /// the account or its tokens.
    pub fn forget_user(&self, user_id: i64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, e| e.user.id != user_id);
    }

    /// Drops everything (a change made behind the service's back, such as a
    /// maintenance statement, is then seen at once).
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(user_id: i64) -> (UserRow, TokenRow) {
        let user = UserRow {
            id: user_id,
            email: "a@example.com".into(),
            display_name: "A".into(),
            password_hash: String::new(),
            time_zone: "UTC".into(),
            is_admin: 0,
            disabled: 0,
            created_at: 0,
            updated_at: 0,
        };
        let token = TokenRow {
            id: 1,
            user_id,
            name: "t".into(),
            prefix: "p".into(),
            scope: "read".into(),
            created_at: 0,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        };
        (user, token)
    }

    #[test]
    fn stores_and_forgets_by_account() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let (u1, t1) = rows(1);
        let (u2, t2) = rows(2);
        cache.store(cache.generation(), "h1", &u1, &t1);
        cache.store(cache.generation(), "h2", &u2, &t2);
        assert_eq!(cache.get("h1").map(|(u, _)| u.id), Some(1));
        cache.forget_user(1);
        assert!(cache.get("h1").is_none());
        assert_eq!(cache.get("h2").map(|(u, _)| u.id), Some(2));
    }

    #[test]
    fn a_lookup_that_overlapped_an_invalidation_is_not_stored() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let (u, t) = rows(1);
        let before = cache.generation();
        cache.forget_user(1);
        cache.store(before, "h", &u, &t);
        assert!(cache.get("h").is_none());
    }

    #[test]
    fn zero_ttl_disables() {
        let cache = TokenCache::new(Duration::ZERO);
        let (u, t) = rows(1);
        cache.store(cache.generation(), "h", &u, &t);
        assert!(cache.get("h").is_none());
    }

    #[test]
    fn uses_are_recorded_in_the_cached_row() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let (u, t) = rows(1);
        cache.store(cache.generation(), "h", &u, &t);
        cache.note_use("h", 42);
        assert_eq!(cache.get("h").and_then(|(_, t)| t.last_used_at), Some(42));
    }
}
