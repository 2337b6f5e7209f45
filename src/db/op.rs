//! The fixed, named set of database operations: the values of the
//! `db_client_operation_duration_seconds{db_operation_name}` label and the names of
//! database client spans. Adding a query means adding (or reusing) a name here.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub name: &'static str,
    /// The table the operation is mainly about (`db.collection.name`).
    pub collection: &'static str,
}

macro_rules! ops {
    ($($ident:ident = $name:literal on $table:literal;)*) => {
        $(pub const $ident: Op = Op { name: $name, collection: $table };)*
        /// Every operation, for documentation and tests.
        pub const ALL: &[Op] = &[$($ident),*];
    };
}

ops! {
    USER_INSERT = "user.insert" on "app_user";
    USER_GET = "user.get" on "app_user";
    USER_UPDATE = "user.update" on "app_user";
    USER_LIST = "user.list" on "app_user";
    SESSION_INSERT = "session.insert" on "session";
    SESSION_GET = "session.get" on "session";
    SESSION_DELETE = "session.delete" on "session";
    TOKEN_INSERT = "token.insert" on "api_token";
    TOKEN_GET = "token.get" on "api_token";
    TOKEN_LIST = "token.list" on "api_token";
    TOKEN_UPDATE = "token.update" on "api_token";
    LOGIN_FAILURE_COUNT = "login_failure.count" on "login_failure";
    LOGIN_FAILURE_WRITE = "login_failure.write" on "login_failure";
    PROJECT_INSERT = "project.insert" on "project";
    PROJECT_GET = "project.get" on "project";
    PROJECT_LIST = "project.list" on "project";
    PROJECT_UPDATE = "project.update" on "project";
    PROJECT_DELETE = "project.delete" on "project";
    MEMBER_GET = "member.get" on "project_member";
    MEMBER_LIST = "member.list" on "project_member";
    MEMBER_WRITE = "member.write" on "project_member";
    LABEL_GET = "label.get" on "label";
    LABEL_LIST = "label.list" on "label";
    LABEL_WRITE = "label.write" on "label";
    TASK_INSERT = "task.insert" on "task";
    TASK_GET = "task.get" on "task";
    TASK_LIST = "task.list" on "task";
    TASK_UPDATE = "task.update" on "task";
    TASK_DELETE = "task.delete" on "task";
    TASK_LABEL_WRITE = "task_label.write" on "task_label";
    TASK_LABEL_LIST = "task_label.list" on "task_label";
    TASK_COUNT = "task.count" on "task";
    CHECKLIST_LIST = "checklist_item.list" on "checklist_item";
    CHECKLIST_WRITE = "checklist_item.write" on "checklist_item";
    SUBTASK_LIST = "subtask.list" on "task";
    SUBTASK_WRITE = "subtask.write" on "task";
    RELATION_LIST = "task_relation.list" on "task_relation";
    RELATION_WRITE = "task_relation.write" on "task_relation";
    ATTACHMENT_LIST = "attachment.list" on "attachment";
    ATTACHMENT_WRITE = "attachment.write" on "attachment";
    ATTACHMENT_SWEEP = "attachment.sweep" on "attachment";
    COMMENT_INSERT = "comment.insert" on "comment";
    COMMENT_LIST = "comment.list" on "comment";
    COMMENT_DELETE = "comment.delete" on "comment";
    ACTIVITY_INSERT = "activity.insert" on "activity";
    ACTIVITY_LIST = "activity.list" on "activity";
    IDEMPOTENCY_GET = "idempotency.get" on "idempotency_key";
    IDEMPOTENCY_WRITE = "idempotency.write" on "idempotency_key";
    NOTIFICATION_INSERT = "notification.insert" on "notification";
    NOTIFICATION_CLAIM = "notification.claim" on "notification";
    NOTIFICATION_UPDATE = "notification.update" on "notification";
    NOTIFICATION_COUNT = "notification.count" on "notification";
    NOTIFICATION_SETTING_GET = "notification_setting.get" on "notification_setting";
    NOTIFICATION_SETTING_WRITE = "notification_setting.write" on "notification_setting";
    DIGEST_SCAN = "digest.scan" on "task";
    WEBHOOK_GET = "webhook.get" on "webhook";
    WEBHOOK_WRITE = "webhook.write" on "webhook";
    WEBHOOK_DELIVERY_GET = "webhook_delivery.get" on "webhook_delivery";
    WEBHOOK_DELIVERY_WRITE = "webhook_delivery.write" on "webhook_delivery";
    WEBHOOK_DELIVERY_CLAIM = "webhook_delivery.claim" on "webhook_delivery";
    SERVER_SECRET_GET = "server_secret.get" on "server_secret";
    JOB_LOCK = "job.lock" on "";
    BACKUP = "backup" on "";
    CLEANUP = "cleanup" on "session";
    CONNECTION_ACQUIRE = "connection.acquire" on "";
}
