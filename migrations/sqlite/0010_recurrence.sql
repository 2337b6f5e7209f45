-- Recurring tasks: the RRULE text, the series' first due date (the rule's DTSTART,
-- shared by every occurrence so COUNT and the weekly rhythm survive completions) and
-- the occurrence created when this one was completed (at most one).
alter table task add column recurrence text;
alter table task add column recurrence_start bigint;
alter table task add column recurrence_next_id bigint references task (id) on delete set null;
create index task_recurrence_next_idx on task (recurrence_next_id);
