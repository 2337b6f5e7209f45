-- Accounts, sessions, API tokens, projects, members, labels, tasks, comments, activity,
-- idempotency keys and sign-in throttling. Timestamps are Unix milliseconds; flags are
-- 0/1 integers (the same type on both databases).

create table app_user (
    id integer primary key,
    email text not null,
    email_normalized text not null unique,
    display_name text not null,
    password_hash text not null,
    time_zone text not null default 'UTC',
    is_admin bigint not null default 0 check (is_admin in (0, 1)),
    disabled bigint not null default 0 check (disabled in (0, 1)),
    created_at bigint not null,
    updated_at bigint not null
);

create table session (
    token_hash text primary key,
    user_id bigint not null references app_user (id) on delete cascade,
    csrf_token text not null,
    created_at bigint not null,
    expires_at bigint not null
);
create index session_user_idx on session (user_id);
create index session_expires_idx on session (expires_at);

create table api_token (
    id integer primary key,
    user_id bigint not null references app_user (id) on delete cascade,
    name text not null,
    prefix text not null,
    secret_hash text not null unique,
    scope text not null check (scope in ('read', 'read_write')),
    created_at bigint not null,
    expires_at bigint,
    last_used_at bigint,
    revoked_at bigint
);
create index api_token_user_idx on api_token (user_id);

create table project (
    id integer primary key,
    name text not null,
    description text not null default '',
    archived bigint not null default 0 check (archived in (0, 1)),
    created_by bigint not null references app_user (id),
    created_at bigint not null,
    updated_at bigint not null
);
create index project_created_by_idx on project (created_by);

create table project_member (
    project_id bigint not null references project (id) on delete cascade,
    user_id bigint not null references app_user (id) on delete cascade,
    role text not null check (role in ('owner', 'editor', 'viewer')),
    created_at bigint not null,
    primary key (project_id, user_id)
);
create index project_member_user_idx on project_member (user_id, project_id);

create table label (
    id integer primary key,
    project_id bigint not null references project (id) on delete cascade,
    name text not null,
    name_normalized text not null,
    color text not null,
    created_at bigint not null,
    unique (project_id, name_normalized)
);

create table task (
    id integer primary key,
    project_id bigint not null references project (id) on delete cascade,
    title text not null,
    description text not null default '',
    status text not null check (status in ('todo', 'in_progress', 'blocked', 'done')),
    priority bigint not null check (priority between 0 and 3),
    due_at bigint,
    assignee_id bigint references app_user (id) on delete set null,
    position text not null,
    completed_at bigint,
    created_by bigint not null references app_user (id),
    created_at bigint not null,
    updated_at bigint not null,
    version bigint not null default 1
);
create index task_project_position_idx on task (project_id, status, position, id);
create index task_project_due_idx on task (project_id, coalesce(due_at, 9223372036854775807), id);
create index task_project_priority_idx on task (project_id, priority, id);
create index task_project_created_idx on task (project_id, created_at, id);
create index task_project_updated_idx on task (project_id, updated_at, id);
create index task_assignee_idx on task (assignee_id, status, due_at);
create index task_created_by_idx on task (created_by);
create index task_open_due_idx on task (status, due_at);

create table task_label (
    task_id bigint not null references task (id) on delete cascade,
    label_id bigint not null references label (id) on delete cascade,
    primary key (task_id, label_id)
);
create index task_label_label_idx on task_label (label_id, task_id);

create table comment (
    id integer primary key,
    task_id bigint not null references task (id) on delete cascade,
    author_id bigint not null references app_user (id),
    body text not null,
    created_at bigint not null
);
create index comment_task_idx on comment (task_id, id);
create index comment_author_idx on comment (author_id);

create table activity (
    id integer primary key,
    task_id bigint not null references task (id) on delete cascade,
    actor_id bigint not null references app_user (id),
    field text not null,
    old_value text,
    new_value text,
    created_at bigint not null
);
create index activity_task_idx on activity (task_id, id);
create index activity_actor_idx on activity (actor_id);

create table idempotency_key (
    user_id bigint not null references app_user (id) on delete cascade,
    key text not null,
    request_hash text not null,
    status_code bigint,
    response_body text,
    created_at bigint not null,
    expires_at bigint not null,
    primary key (user_id, key)
);
create index idempotency_key_expires_idx on idempotency_key (expires_at);

create table login_failure (
    id integer primary key,
    subject text not null,
    created_at bigint not null
);
create index login_failure_subject_idx on login_failure (subject, created_at);
