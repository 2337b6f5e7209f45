-- Checklist items of a task, ordered like board cards by fractional positions.
create table checklist_item (
    id integer primary key,
    task_id bigint not null references task (id) on delete cascade,
    text text not null,
    done bigint not null default 0 check (done in (0, 1)),
    position text not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index checklist_item_task_idx on checklist_item (task_id, position, id);
