-- Subtasks and typed relations between tasks of one project.
--
-- A task's parent is another task of the same project (checked by the API, which also
-- refuses cycles and limits the depth). Deleting a parent detaches its subtasks.
alter table task add column parent_id bigint references task (id) on delete set null;
create index task_parent_idx on task (parent_id, status, position, id);

-- One row per relation, read from both sides: `blocks` and `duplicates` are directed
-- (the other task sees `blocked_by` and `duplicated_by`), `relates_to` reads the same
-- both ways. Deleting either task deletes the relation.
create table task_relation (
    id integer primary key,
    task_id bigint not null references task (id) on delete cascade,
    other_task_id bigint not null references task (id) on delete cascade,
    kind text not null check (kind in ('blocks', 'relates_to', 'duplicates')),
    created_by bigint not null references app_user (id),
    created_at bigint not null,
    check (task_id <> other_task_id)
);
create unique index task_relation_pair_idx on task_relation (task_id, other_task_id, kind);
create index task_relation_other_idx on task_relation (other_task_id, task_id);
create index task_relation_created_by_idx on task_relation (created_by);
