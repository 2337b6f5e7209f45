-- A webhook keeps sending only while an owner stands behind it: when the owner who
-- created (or last confirmed) it loses owner rights, it is paused until another owner
-- confirms it.
alter table webhook add column paused_reason text;
alter table webhook add column confirmed_by bigint references app_user (id);
create index webhook_confirmed_by_idx on webhook (confirmed_by);
