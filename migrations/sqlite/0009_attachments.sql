-- Files attached to tasks. The bytes live in the attachment store under storage_key;
-- a row is written only after its object is complete.
create table attachment (
    id integer primary key,
    task_id bigint not null references task (id) on delete cascade,
    uploader_id bigint not null references app_user (id),
    filename text not null,
    -- Sniffed from the bytes, never taken from the client.
    content_type text not null,
    size_bytes bigint not null check (size_bytes >= 0),
    sha256 text not null,
    storage_key text not null unique,
    created_at bigint not null
);
create index attachment_task_idx on attachment (task_id, id);
create index attachment_uploader_idx on attachment (uploader_id);
