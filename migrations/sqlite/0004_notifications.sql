-- E-mail notifications: per-user preferences, the transactional outbox, and the
-- server-side secret that signs unsubscribe links (shared by every replica).

create table notification_setting (
    user_id bigint primary key references app_user (id) on delete cascade,
    assigned bigint not null default 1 check (assigned in (0, 1)),
    due_soon bigint not null default 1 check (due_soon in (0, 1)),
    digest bigint not null default 1 check (digest in (0, 1)),
    comment bigint not null default 1 check (comment in (0, 1)),
    reminder_lead_minutes bigint not null default 1440 check (reminder_lead_minutes between 5 and 10080),
    digest_minute bigint not null default 480 check (digest_minute between 0 and 1439),
    updated_at bigint not null
);

-- One row per e-mail to send. `dedupe_key` makes scheduled notifications (due-soon
-- reminders, digests) exactly-once across replicas: a second insert of the same
-- reminder conflicts and does nothing.
create table notification (
    id integer primary key,
    kind text not null check (kind in ('assigned', 'due_soon', 'digest', 'comment')),
    user_id bigint not null references app_user (id) on delete cascade,
    task_id bigint references task (id) on delete cascade,
    comment_id bigint references comment (id) on delete cascade,
    actor_id bigint references app_user (id) on delete set null,
    due_at bigint,
    dedupe_key text unique,
    status text not null default 'pending'
        check (status in ('pending', 'sent', 'dead', 'cancelled', 'undeliverable')),
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    claimed_until bigint,
    scheduled_at bigint not null,
    created_at bigint not null,
    sent_at bigint,
    last_error text
);
create index notification_pending_idx on notification (status, next_attempt_at);
create index notification_task_idx on notification (task_id, kind, status);
create index notification_user_idx on notification (user_id);
create index notification_comment_idx on notification (comment_id);
create index notification_actor_idx on notification (actor_id);

create table server_secret (
    name text primary key,
    value text not null,
    created_at bigint not null
);
