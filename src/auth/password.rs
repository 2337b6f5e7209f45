//! argon2id password hashing, on the blocking pool so hashing never stalls the
//! runtime's workers, and bounded: each hash holds 19 MiB for its duration, so the
//! number running at once is what bounds a replica's memory under a flood of
//! sign-ins or sign-ups. A caller that finds no slot within `password_hashing_wait`
//! gets 503 with `Retry-After`.

use std::time::Duration;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::error::AppError;

pub struct Hasher {
    slots: Semaphore,
    wait: Duration,
}

impl Hasher {
    /// `concurrency` 0 means one slot per CPU core.
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        return_large_blocks_to_the_system();
        let n = match concurrency {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        };
        Hasher { slots: Semaphore::new(n), wait }
    }

    /// The slots, so a test can occupy them.
    pub fn slots(&self) -> &Semaphore {
        &self.slots
    }

    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
        let busy = || AppError::Unavailable("too many sign-ins at once");
        match tokio::time::timeout(self.wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(busy()),
        }
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, AppError> {
        let _slot = self.slot().await?;
        tokio::task::spawn_blocking(move || hash_now(&password))
            .await
            .map_err(|e| AppError::Internal(e.into()))?
            .map_err(AppError::Internal)
    }

    /// Checks `password` against `stored`. With no stored hash (unknown account) it
    /// verifies against a fixed hash anyway, so the answer takes the same time.
    pub async fn verify(&self, password: SecretString, stored: Option<String>) -> Result<bool, AppError> {
        let _slot = self.slot().await?;
        Ok(verify_now(password, stored).await)
    }

    /// Spends the work of one hash without keeping it, so that a refused sign-up takes
    /// as long as an accepted one.
    pub async fn spend(&self, password: SecretString) -> Result<(), AppError> {
        self.hash(password).await.map(|_| ())
    }
}

fn hash_now(password: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

async fn verify_now(password: SecretString, stored: Option<String>) -> bool {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
    tokio::task::spawn_blocking(move || {
        let ok = PasswordHash::new(&stored)
            .map(|parsed| Argon2::default().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// glibc serves large blocks from `mmap` only until the first one is freed; then it
/// raises its threshold and serves later 19 MiB argon2 blocks from the heap arenas,
/// which keep the memory after a burst (RSS stayed at 1.9 GB after 80 sign-ups).
/// A fixed threshold keeps every large block in `mmap`, returned to the system on free.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes allocator tuning; it is called once, and glibc
        // serialises it against concurrent allocations.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        });
    }
}

/// argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Yk3H1ZLCaxqkz0Fh1v9VSuhGD3Rjv8M1FfM2kGhOo9U";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let h = Hasher::new(1, Duration::from_secs(5));
        let hash = h.hash(SecretString::from("correct horse battery")).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(h.verify(SecretString::from("correct horse battery"), Some(hash.clone())).await.unwrap());
        assert!(!h.verify(SecretString::from("wrong"), Some(hash)).await.unwrap());
        assert!(!h.verify(SecretString::from("anything"), None).await.unwrap());
    }

    #[tokio::test]
    async fn no_free_slot_within_the_wait_is_unavailable() {
        let h = Hasher::new(1, Duration::ZERO);
        let _held = h.slots().acquire().await.unwrap();
        let e = h.verify(SecretString::from("anything"), None).await.unwrap_err();
        assert_eq!(e.status(), 503);
        assert!(h.hash(SecretString::from("anything")).await.is_err());
    }
}
