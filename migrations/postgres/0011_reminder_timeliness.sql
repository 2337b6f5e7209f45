-- The reminder-timeliness SLI counts each due-soon reminder once, when its fate against
-- the 2-minute objective is known: sent in time, sent late, given up, or still unsent
-- at the deadline. `timeliness_counted_at` records that it was counted, so the sender
-- and the deadline scan (on any replica) never count one reminder twice.
alter table notification add column timeliness_counted_at bigint;
create index notification_unsent_reminder_idx on notification (scheduled_at)
    where kind = 'due_soon' and status = 'pending' and timeliness_counted_at is null;
