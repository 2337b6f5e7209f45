//! Shared rule for bounded free text: trimmed, length counted in characters.

use crate::error::FieldError;

/// Whether `c` may not appear in text: every control character except the line
/// breaks and tabs of multi-line text. NUL above all: PostgreSQL refuses it in text.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// The error of a value carrying a forbidden control character, if it does.
pub fn reject_controls(field: &str, value: &str) -> Result<(), FieldError> {
    if value.chars().any(is_forbidden_control) {
        return Err(FieldError::new(field, "invalid", format!("{field} contains control characters")));
    }
    Ok(())
}

/// Trims `raw` and checks its length in characters is within `min..=max`.
pub fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    let len = value.chars().count();
    if len < min {
        return Err(FieldError::new(field, "required", format!("{field} must not be empty")));
    }
    if len > max {
        return Err(FieldError::new(field, "too_long", format!("{field} must be at most {max} characters")));
    }
    reject_controls(field, value)?;
    Ok(value.to_owned())
}

/// Declares a newtype over `String` whose constructor applies `bounded_text`.
macro_rules! bounded_string {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX: usize = $max;
            pub fn parse(raw: &str) -> Result<Self, crate::error::FieldError> {
                crate::domain::bounded_text($field, raw, $min, $max).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}
pub(crate) use bounded_string;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_counts_characters_not_bytes() {
        assert_eq!(bounded_text("t", "  é  ", 1, 1).unwrap(), "é");
        assert_eq!(bounded_text("t", "   ", 1, 5).unwrap_err().code, "required");
        assert_eq!(bounded_text("t", "abcdef", 1, 5).unwrap_err().code, "too_long");
        assert_eq!(bounded_text("t", "a\u{0}b", 1, 5).unwrap_err().code, "invalid");
    }
}
