//! Task values: title, description, status and priority.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::text::bounded_string;

bounded_string!(
    /// 1..=200 characters after trimming.
    TaskTitle, "title", 1, 200
);

/// Markdown, at most 20 000 characters; may be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub const MAX: usize = 20_000;
    pub fn parse(raw: &str) -> Result<Self, crate::error::FieldError> {
        if raw.chars().count() > Self::MAX {
            return Err(crate::error::FieldError::new(
                "description",
                "too_long",
                format!("description must be at most {} characters", Self::MAX),
            ));
        }
        Ok(Self(raw.trim_end().to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Todo,
    InProgress,
    Blocked,
    Done,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 4] = [Self::Todo, Self::InProgress, Self::Blocked, Self::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Todo => "todo",
            Self::InProgress => "in_progress",
            Self::Blocked => "blocked",
            Self::Done => "done",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Stored as a rank (0 low … 3 urgent) so sorting by priority uses an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Low, Self::Medium, Self::High, Self::Urgent];

    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Self {
        Self::ALL.get(rank.clamp(0, 3) as usize).copied().unwrap_or(Self::Medium)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_rules() {
        assert_eq!(TaskTitle::parse("  Ship it ").unwrap().as_str(), "Ship it");
        assert!(TaskTitle::parse("").is_err());
        assert!(TaskTitle::parse(&"x".repeat(200)).is_ok());
        assert_eq!(TaskTitle::parse(&"x".repeat(201)).unwrap_err().code, "too_long");
    }

    #[test]
    fn description_limit() {
        assert!(TaskDescription::parse(&"d".repeat(20_000)).is_ok());
        assert!(TaskDescription::parse(&"d".repeat(20_001)).is_err());
    }

    #[test]
    fn priority_rank_round_trips_and_orders() {
        for p in Priority::ALL {
            assert_eq!(Priority::from_rank(p.rank()), p);
        }
        assert!(Priority::Urgent > Priority::Low);
        assert_eq!(TaskStatus::parse("in_progress"), Some(TaskStatus::InProgress));
        assert_eq!(TaskStatus::parse("doing"), None);
    }
}
