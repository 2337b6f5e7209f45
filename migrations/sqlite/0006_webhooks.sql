-- Outbound webhooks per project and their delivery log. Deliveries are an outbox like
-- e-mail notifications: written with the change, claimed and sent with retries.

create table webhook (
    id integer primary key,
    project_id bigint not null references project (id) on delete cascade,
    url text not null,
    -- The HMAC key the receiver verifies signatures with; shown once, on creation.
    secret text not null,
    -- Comma-separated subset of task.created, task.updated, task.completed,
    -- task.deleted, comment.created.
    events text not null,
    active bigint not null default 1 check (active in (0, 1)),
    created_by bigint not null references app_user (id),
    created_at bigint not null,
    updated_at bigint not null
);
create index webhook_project_idx on webhook (project_id);
create index webhook_created_by_idx on webhook (created_by);

create table webhook_delivery (
    id integer primary key,
    webhook_id bigint not null references webhook (id) on delete cascade,
    event text not null,
    event_id text not null unique,
    payload text not null,
    status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    claimed_until bigint,
    response_status bigint,
    last_error text,
    duration_ms bigint,
    created_at bigint not null,
    delivered_at bigint
);
create index webhook_delivery_pending_idx on webhook_delivery (status, next_attempt_at);
create index webhook_delivery_webhook_idx on webhook_delivery (webhook_id, id);
