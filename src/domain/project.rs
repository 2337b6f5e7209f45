//! Project, membership and label values.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::text::bounded_string;
use crate::error::FieldError;

bounded_string!(
    /// 1..=100 characters after trimming.
    ProjectName, "name", 1, 100
);
bounded_string!(
    /// At most 2 000 characters.
    ProjectDescription, "description", 0, 2000
);
bounded_string!(
    /// 1..=50 characters after trimming; unique per project, ignoring case.
    LabelName, "name", 1, 50
);

/// `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelColor(String);

impl LabelColor {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let ok = raw.len() == 7 && raw.starts_with('#') && raw[1..].chars().all(|c| c.is_ascii_hexdigit());
        if ok {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(FieldError::new("color", "invalid", "color must look like #1a2b3c"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Editor,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Owner => "owner",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Viewer, Self::Editor, Self::Owner].into_iter().find(|r| r.as_str() == raw)
    }

    pub fn can_edit(self) -> bool {
        self >= Role::Editor
    }

    pub fn can_manage(self) -> bool {
        self == Role::Owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_and_roles() {
        assert_eq!(LabelColor::parse("#AABBCC").unwrap().as_str(), "#aabbcc");
        assert!(LabelColor::parse("red").is_err());
        assert!(LabelColor::parse("#abcdeg").is_err());
        assert!(Role::Owner.can_manage() && Role::Editor.can_edit() && !Role::Viewer.can_edit());
        assert!(ProjectName::parse(&"p".repeat(101)).is_err());
    }
}
