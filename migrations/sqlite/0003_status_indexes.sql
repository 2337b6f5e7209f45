-- Listings filter by status far more often than not (board columns, "open tasks");
-- with the status first, a filtered page sorted by due date or priority reads only
-- the rows it returns instead of scanning the project.
create index task_project_status_due_idx on task (project_id, status, coalesce(due_at, 9223372036854775807), id);
create index task_project_status_priority_idx on task (project_id, status, priority, id);
