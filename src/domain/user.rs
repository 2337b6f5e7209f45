//! Account values: e-mail, display name, password and time zone.

use secrecy::SecretString;

use super::text::bounded_string;
use crate::error::FieldError;

/// An e-mail address; `normalized()` (lower case) is what uniqueness is checked on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let v = raw.trim();
        let invalid = || FieldError::new("email", "invalid", "email must look like name@example.com");
        if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = v.rsplit_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(invalid());
        }
        Ok(Self(v.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

bounded_string!(
    /// 1..=100 characters after trimming.
    DisplayName, "display_name", 1, 100
);

/// Passwords of 10 characters or more from the 20 000 most common ones (the list
/// Django ships, from Royce Williams' breach corpus analysis), lower case, sorted.
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

/// A new password: 10..=256 characters, not a common one, not the account's e-mail
/// address or its part before `@`. Never logged (`SecretString`).
pub struct Password(SecretString);

impl Password {
    pub fn parse(raw: &str, field: &str, email: &str) -> Result<Self, FieldError> {
        let n = raw.chars().count();
        if n < 10 {
            return Err(FieldError::new(field, "too_short", "password must be at least 10 characters"));
        }
        if n > 256 {
            return Err(FieldError::new(field, "too_long", "password must be at most 256 characters"));
        }
        let lower = raw.trim().to_lowercase();
        let email = email.trim().to_lowercase();
        let local = email.rsplit_once('@').map_or(email.as_str(), |(local, _)| local);
        if lower == email || lower == local {
            return Err(FieldError::new(field, "same_as_email", "password must not be the e-mail address"));
        }
        if is_common(&lower) {
            return Err(FieldError::new(
                field,
                "too_common",
                "this password is among the most common ones and is guessed first; choose another",
            ));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

fn is_common(lower: &str) -> bool {
    static LIST: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| COMMON_PASSWORDS.lines().collect()).binary_search(&lower).is_ok()
}

/// An IANA time zone name such as `Europe/Paris`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| FieldError::new("time_zone", "invalid", "time_zone must be an IANA name such as Europe/Paris"))
    }
    pub fn as_str(&self) -> &str {
        self.0.name()
    }
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_list_is_sorted_lower_case_and_only_holds_long_enough_ones() {
        let list: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(list.len() > 1500, "{}", list.len());
        assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted and unique, for binary search");
        assert!(list.iter().all(|p| p.chars().count() >= 10 && *p == p.to_lowercase()));
    }

    #[test]
    fn email_rules() {
        assert_eq!(Email::parse(" Ada@Example.COM ").unwrap().normalized(), "ada@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "a da@example.com", "ada@example"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_and_zone_rules() {
        let email = "ada.lovelace@example.com";
        assert!(Password::parse("short", "password", email).is_err());
        assert!(Password::parse("long enough pw", "password", email).is_ok());
        for (common, code) in [
            ("password123", "too_common"),
            ("QWERTYUIOP", "too_common"),
            ("1234567890", "too_common"),
            ("Ada.Lovelace@example.com", "same_as_email"),
            ("ada.lovelace", "same_as_email"),
        ] {
            assert_eq!(Password::parse(common, "password", email).err().map(|e| e.code), Some(code.into()), "{common}");
        }
        assert_eq!(TimeZone::parse("Europe/Paris").unwrap().as_str(), "Europe/Paris");
        assert!(TimeZone::parse("Mars/Olympus").is_err());
    }
}
