//! Membership checks shared by the project-scoped endpoints. A non-member always gets
//! 404, so the existence of other people's projects is not revealed.

use crate::{
    db::{repo, repo::Connection, Db},
    domain::Role,
    error::AppError,
};

/// The caller's role in the project, or 404.
pub async fn role_in(db: &Db, c: &mut Connection, project_id: i64, user_id: i64) -> Result<Role, AppError> {
    repo::members::role_of(db, c, project_id, user_id).await?.and_then(|r| Role::parse(&r)).ok_or(AppError::NotFound)
}

pub fn require_editor(role: Role) -> Result<(), AppError> {
    if role.can_edit() {
        Ok(())
    } else {
        Err(AppError::Forbidden("Viewers cannot change this project.".into()))
    }
}

pub fn require_owner(role: Role) -> Result<(), AppError> {
    if role.can_manage() {
        Ok(())
    } else {
        Err(AppError::Forbidden("Only owners can do this.".into()))
    }
}

/// Collects field errors from parsing steps and fails with all of them at once.
#[derive(Default)]
pub struct Fields(pub Vec<crate::error::FieldError>);

impl Fields {
    pub fn take<T>(&mut self, r: Result<T, crate::error::FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(crate::error::FieldError::new(field, code, message));
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Unprocessable(self.0))
        }
    }
}
