//! Subtasks and relations in the project document: a task names its parent by its
//! index in `tasks`, and each relation is stored once, from its subject's side, by
//! the indexes of its two tasks. Kept apart from the rest of export and import.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{access::Fields, relations::RelationKind, subtasks::MAX_LEVELS, transfer::ProjectExport};
use crate::db::{
    repo::{self, tasks::TaskRow, Connection},
    Db,
};

#[derive(Serialize, Deserialize, ToSchema, Debug, PartialEq)]
pub struct RelationExport {
    /// Index in `tasks` of the relation's subject.
    pub task: usize,
    /// `blocks`, `relates_to` or `duplicates` (the inverse kinds are accepted on import).
    pub kind: RelationKind,
    /// Index in `tasks` of the other task.
    pub other: usize,
}

/// Each task's parent as an index into `tasks`, and the project's relations.
pub async fn export(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    tasks: &[TaskRow],
) -> Result<(Vec<Option<usize>>, Vec<RelationExport>), sqlx::Error> {
    let by_id: std::collections::HashMap<i64, usize> = tasks.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let index = |id: i64| by_id.get(&id).copied();
    let parents = tasks.iter().map(|t| t.parent_id.and_then(index)).collect();
    let mut relations: Vec<RelationExport> = repo::relations::in_project(db, c, project_id)
        .await?
        .iter()
        .filter_map(|r| {
            let kind = RelationKind::seen(&r.kind, true);
            Some(RelationExport { task: index(r.task_id)?, kind, other: index(r.other_task_id)? })
        })
        .collect();
    relations.sort_by_key(|r| (r.task, r.other, r.kind.as_str()));
    Ok((parents, relations))
}

/// Parents and relations must point at other tasks of the document, without cycles
/// and no deeper than the API allows.
pub fn validate(doc: &ProjectExport, f: &mut Fields) {
    let n = doc.tasks.len();
    for (i, t) in doc.tasks.iter().enumerate() {
        let Some(first) = t.parent else { continue };
        let field = format!("tasks[{i}].parent");
        if first >= n || first == i {
            f.push(&field, "invalid", "parent must be the index of another task in tasks");
            continue;
        }
        // Walk up: a cycle comes back to this task, a deep tree exceeds the levels.
        let mut levels = 1;
        let mut cursor = Some(first);
        while let Some(p) = cursor.filter(|p| *p < n) {
            levels += 1;
            if p == i || levels > MAX_LEVELS {
                f.push(&field, "invalid", format!("parents must not form a cycle or nest over {MAX_LEVELS} levels"));
                break;
            }
            cursor = doc.tasks[p].parent;
        }
    }
    for (i, r) in doc.relations.iter().enumerate() {
        if r.task >= n || r.other >= n || r.task == r.other {
            f.push(&format!("relations[{i}]"), "invalid", "a relation links two different tasks of tasks");
        }
    }
}

/// Restores parents and relations once every task exists (`ids[i]` is the new id of
/// `tasks[i]`). Returns how many relations were restored; one that repeats another
/// is left out.
pub async fn restore(
    db: &Db,
    c: &mut Connection,
    doc: &ProjectExport,
    ids: &[i64],
    actor: i64,
    now: i64,
) -> Result<usize, sqlx::Error> {
    for (t, id) in doc.tasks.iter().zip(ids) {
        if let Some(p) = t.parent {
            repo::subtasks::set_parent(db, c, *id, Some(ids[p])).await?;
        }
    }
    let mut restored = 0;
    for r in &doc.relations {
        let (stored, outgoing) = r.kind.stored();
        let (subject, object) = if outgoing { (ids[r.task], ids[r.other]) } else { (ids[r.other], ids[r.task]) };
        if repo::relations::between(db, c, subject, object, stored).await?.is_none() {
            repo::relations::insert(db, c, subject, object, stored, actor, now).await?;
            restored += 1;
        }
    }
    Ok(restored)
}
