//! Signed unsubscribe links: `/unsubscribe/<user>.<kind>.<signature>`, where the
//! signature is an HMAC-SHA256 of the user and kind under a key kept in the database.
//! No sign-in is needed, and a link can only ever turn off its own kind for its own
//! account.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Kind;

pub struct Links {
    public_url: String,
    key: Vec<u8>,
}

impl Links {
    pub fn new(public_url: &str, key: Vec<u8>) -> Links {
        Links { public_url: public_url.trim_end_matches('/').to_owned(), key }
    }

    fn signature(&self, user_id: i64, kind: Kind) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("unsubscribe:{user_id}:{kind}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    pub fn token(&self, user_id: i64, kind: Kind) -> String {
        format!("{user_id}.{kind}.{}", self.signature(user_id, kind))
    }

    pub fn unsubscribe_url(&self, user_id: i64, kind: Kind) -> String {
        format!("{}/unsubscribe/{}", self.public_url, self.token(user_id, kind))
    }

    /// An absolute URL of this service for a path (`/tasks/3`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// The account and kind a token names, if its signature is ours.
    pub fn verify(&self, token: &str) -> Option<(i64, Kind)> {
        let mut parts = token.splitn(3, '.');
        let user_id: i64 = parts.next()?.parse().ok()?;
        let kind = Kind::parse(parts.next()?)?;
        let given = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("unsubscribe:{user_id}:{kind}").as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&given).ok()?;
        Some((user_id, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_own_user_kind_and_key() {
        let links = Links::new("http://tm.test/", b"key one".to_vec());
        let token = links.token(42, Kind::DueSoon);
        assert_eq!(links.verify(&token), Some((42, Kind::DueSoon)));
        assert!(links.unsubscribe_url(42, Kind::DueSoon).starts_with("http://tm.test/unsubscribe/42.due_soon."));
        let sig = token.rsplit('.').next().unwrap();
        assert_eq!(links.verify(&format!("43.due_soon.{sig}")), None, "another user");
        assert_eq!(links.verify(&format!("42.digest.{sig}")), None, "another kind");
        assert_eq!(Links::new("http://tm.test", b"key two".to_vec()).verify(&token), None, "another key");
        for bad in ["", "42", "42.due_soon", "x.due_soon.abc", "42.nope.abc", "42.due_soon.!!!"] {
            assert_eq!(links.verify(bad), None, "{bad}");
        }
    }
}
