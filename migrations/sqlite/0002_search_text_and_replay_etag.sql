-- Text search runs on a lower-cased copy of title and description, lower-cased by the
-- application (full Unicode), so SQLite and PostgreSQL match the same tasks.
alter table task add column search_text text not null default '';
update task set search_text = lower(title || char(10) || description);

-- A replayed response carries the ETag of the first one.
alter table idempotency_key add column etag text;
