//! The access-control matrix: every endpoint (route and method) × every kind of
//! caller, with the exact status of each cell. Refused cells must write nothing.
//! On failure the whole table is printed with the wrong cells marked.

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::{admin::admin_client, attachments::upload, both, common::*, helpers::*, tokens::expire_token};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Owner,
    Editor,
    Viewer,
    Outsider,
    ReadOnlyToken,
    ExpiredToken,
    Disabled,
    /// An administrator who is not a member of the project.
    Admin,
    Anonymous,
}

const ACTORS: [Actor; 9] = [
    Actor::Owner,
    Actor::Editor,
    Actor::Viewer,
    Actor::Outsider,
    Actor::ReadOnlyToken,
    Actor::ExpiredToken,
    Actor::Disabled,
    Actor::Admin,
    Actor::Anonymous,
];

const HEADINGS: [&str; 9] =
    ["owner", "editor", "viewer", "outsider", "ro-token", "expired", "disabled", "admin", "anon"];

struct World {
    app: TestApp,
    owner: Client,
    clients: Vec<(Actor, Client)>,
    pid: i64,
    spare_id: i64,
    n: AtomicUsize,
}

impl World {
    fn client(&self, a: Actor) -> &Client {
        &self.clients.iter().find(|(x, _)| *x == a).unwrap().1
    }

    fn next(&self) -> usize {
        self.n.fetch_add(1, Ordering::SeqCst)
    }

    async fn owner_call(&self, m: Method, path: &str, body: Option<Value>) -> Value {
        let (s, v) = self.app.call(&self.owner, m.clone(), path, body).await;
        assert!(s.is_success(), "setup {m} {path}: {s} {v}");
        v
    }

    async fn fresh_task(&self) -> i64 {
        create_task(&self.app, &self.owner, self.pid, json!({"title": format!("fresh {}", self.next())})).await["id"]
            .as_i64()
            .unwrap()
    }

    async fn fresh_label(&self) -> i64 {
        create_label(&self.app, &self.owner, self.pid, &format!("label {}", self.next())).await
    }

    async fn fresh_item(&self) -> (i64, i64) {
        let t = self.fresh_task().await;
        let path = format!("/api/v1/tasks/{t}/checklist");
        (t, self.owner_call(Method::POST, &path, Some(json!({"text": "item"}))).await["id"].as_i64().unwrap())
    }

    /// Two fresh tasks, the first blocking the second, and the relation's id.
    async fn fresh_relation(&self) -> (i64, i64, i64) {
        let (a, b) = (self.fresh_task().await, self.fresh_task().await);
        let body = json!({"kind": "blocks", "task_id": b});
        let r = self.owner_call(Method::POST, &format!("/api/v1/tasks/{a}/relations"), Some(body)).await;
        (a, b, r["id"].as_i64().unwrap())
    }

    /// The download URL of a new attachment on a new task.
    async fn fresh_attachment(&self) -> String {
        let t = self.fresh_task().await;
        let (s, v) = upload(&self.app, &self.owner, t, "a.txt", b"text".to_vec(), "text/plain").await;
        assert_eq!(s, 201, "setup upload: {v}");
        v["download_url"].as_str().unwrap().to_owned()
    }

    async fn fresh_webhook(&self) -> i64 {
        self.owner_call(Method::POST, &format!("/api/v1/projects/{}/webhooks", self.pid), Some(hook())).await["id"]
            .as_i64()
            .unwrap()
    }

    async fn set_spare(&self, member: bool) {
        let path = format!("/api/v1/projects/{}/members", self.pid);
        let (_, list) = self.app.call(&self.owner, Method::GET, &path, None).await;
        let is_member = list.as_array().unwrap().iter().any(|m| m["user_id"] == self.spare_id);
        if member && !is_member {
            add_member(&self.app, &self.owner, self.pid, "spare", "viewer").await;
        } else if !member && is_member {
            self.owner_call(Method::DELETE, &format!("{path}/{}", self.spare_id), None).await;
        }
    }
}

/// A Todoist export with one task.
const TODOIST_MATRIX_CSV: &str = "TYPE,CONTENT,PRIORITY,INDENT\ntask,Matrix task,4,1\n";

/// A webhook body that passes validation (a public URL; nothing is delivered here).
fn hook() -> Value {
    json!({"url": "https://hooks.example.com/tasks", "events": ["task.created"]})
}

#[derive(Clone, Copy, Debug)]
enum Row {
    GetMe,
    PatchMe,
    ChangePassword,
    CreateToken,
    ListTokens,
    RevokeToken,
    GetNotificationSettings,
    PatchNotificationSettings,
    MyTasks,
    ListAllTasks,
    AdminListUsers,
    AdminUpdateUser,
    CreateProject,
    ListProjects,
    GetProject,
    UpdateProject,
    ArchiveProject,
    DeleteProject,
    ListMembers,
    AddMember,
    UpdateMember,
    RemoveMember,
    CreateLabel,
    ListLabels,
    UpdateLabel,
    DeleteLabel,
    CreateTask,
    ListProjectTasks,
    GetTask,
    UpdateTask,
    DeleteTask,
    MoveTask,
    AddComment,
    ListComments,
    DeleteComment,
    ListActivity,
    ExportProject,
    ExportTasksCsv,
    ImportProject,
    ImportTodoist,
    ImportTrello,
    ExportAccount,
    AddChecklistItem,
    ListChecklist,
    UpdateChecklistItem,
    DeleteChecklistItem,
    AddRelation,
    ListRelations,
    DeleteRelation,
    UploadAttachment,
    ListAttachments,
    DownloadAttachment,
    DeleteAttachment,
    BulkEdit,
    CreateWebhook,
    ListWebhooks,
    UpdateWebhook,
    DeleteWebhook,
    ListDeliveries,
    Login,
    Logout,
}

const OK: u16 = 200;

/// Expected status per actor, in `ACTORS` order.
#[rustfmt::skip]
fn expected(row: Row) -> [u16; 9] {
    use Row::*;
    //                                   owner editor viewer outsider ro   expired disabled admin anon
    let everyone = |s: u16| -> [u16; 9] { [s,    s,     s,     s,       s,   401,    401,     s,    401] };
    let everyone_writes = |s: u16| -> [u16; 9] { [s, s,  s,     s,       403, 401,    401,     s,    401] };
    let member_reads: [u16; 9] =         [OK,   OK,    OK,    404,     OK,  401,    401,     404,  401];
    let editor_writes = |s: u16| -> [u16; 9] { [s, s,    403,   404,     403, 401,    401,     404,  401] };
    let owner_writes = |s: u16| -> [u16; 9] { [s,  403,  403,   404,     403, 401,    401,     404,  401] };
    let admin_only: [u16; 9] =           [403,  403,   403,   403,     403, 401,    401,     OK,   401];
    match row {
        GetMe | ListTokens | GetNotificationSettings | MyTasks | ListAllTasks | ListProjects => everyone(OK),
        PatchMe | PatchNotificationSettings => everyone_writes(OK),
        ChangePassword => everyone_writes(204),
        CreateToken | CreateProject | ImportProject => everyone_writes(201),
        ImportTodoist | ImportTrello => everyone_writes(201),
        ExportAccount => everyone(OK),
        RevokeToken =>                   [204,  404,   404,   404,     403, 401,    401,     404,  401],
        AdminListUsers | AdminUpdateUser => admin_only,
        GetProject | ListMembers | ListLabels | ListProjectTasks | GetTask | ListComments | ListActivity | ListChecklist | ExportProject | ExportTasksCsv | ListAttachments | DownloadAttachment => member_reads,
        UpdateProject | UpdateLabel | UpdateTask | MoveTask | BulkEdit | UpdateChecklistItem => editor_writes(OK),
        DeleteLabel | DeleteTask | DeleteChecklistItem | DeleteAttachment => editor_writes(204),
        CreateLabel | CreateTask | AddComment | AddChecklistItem | UploadAttachment => editor_writes(201),
        ArchiveProject | UpdateMember => owner_writes(OK),
        DeleteProject | RemoveMember => owner_writes(204),
        AddMember => owner_writes(201),
        DeleteComment =>                 [204,  403,   403,   404,     403, 401,    401,     404,  401],
        CreateWebhook => owner_writes(201),
        UpdateWebhook => owner_writes(OK),
        DeleteWebhook => owner_writes(204),
        ListWebhooks | ListDeliveries => [OK, 403,   403,   404,     OK,  401,    401,     404,  401],
        ListRelations => member_reads,
        AddRelation => editor_writes(201),
        DeleteRelation => editor_writes(204),
        Login =>                         [OK,   OK,    OK,    OK,      OK,  OK,     401,     OK,   OK],
        Logout =>                        [204,  204,   204,   204,     204, 401,    401,     204,  401],
    }
}

const ROWS: [Row; 61] = {
    use Row::*;
    [
        GetMe,
        PatchMe,
        ChangePassword,
        CreateToken,
        ListTokens,
        RevokeToken,
        GetNotificationSettings,
        PatchNotificationSettings,
        MyTasks,
        ListAllTasks,
        AdminListUsers,
        AdminUpdateUser,
        CreateProject,
        ListProjects,
        GetProject,
        UpdateProject,
        ArchiveProject,
        DeleteProject,
        ListMembers,
        AddMember,
        UpdateMember,
        RemoveMember,
        CreateLabel,
        ListLabels,
        UpdateLabel,
        DeleteLabel,
        CreateTask,
        ListProjectTasks,
        GetTask,
        UpdateTask,
        DeleteTask,
        MoveTask,
        AddComment,
        ListComments,
        DeleteComment,
        ListActivity,
        ExportProject,
        ExportTasksCsv,
        ImportProject,
        ImportTodoist,
        ImportTrello,
        ExportAccount,
        AddChecklistItem,
        ListChecklist,
        UpdateChecklistItem,
        DeleteChecklistItem,
        AddRelation,
        ListRelations,
        DeleteRelation,
        UploadAttachment,
        ListAttachments,
        DownloadAttachment,
        DeleteAttachment,
        BulkEdit,
        CreateWebhook,
        ListWebhooks,
        UpdateWebhook,
        DeleteWebhook,
        ListDeliveries,
        Login,
        // Last: it ends the sessions.
        Logout,
    ]
};

fn email_of(a: Actor) -> &'static str {
    match a {
        Actor::Owner | Actor::ReadOnlyToken | Actor::ExpiredToken => "owner@example.com",
        Actor::Editor => "editor@example.com",
        Actor::Viewer => "viewer@example.com",
        Actor::Outsider | Actor::Anonymous => "outsider@example.com",
        Actor::Disabled => "disabled@example.com",
        Actor::Admin => "root@example.com",
    }
}

/// The request of a cell, with fresh resources created (by the owner) where the
/// request consumes them.
async fn request(w: &World, row: Row, actor: Actor) -> (Method, String, Option<Value>) {
    use Method as M;
    use Row::*;
    let pid = w.pid;
    let p = format!("/api/v1/projects/{pid}");
    match row {
        GetMe => (M::GET, "/api/v1/me".into(), None),
        PatchMe => (M::PATCH, "/api/v1/me".into(), Some(json!({"time_zone": "UTC"}))),
        ChangePassword => (
            M::POST,
            "/api/v1/me/password".into(),
            Some(json!({"current_password": PASSWORD, "new_password": PASSWORD})),
        ),
        CreateToken => (M::POST, "/api/v1/me/tokens".into(), Some(json!({"name": "matrix", "scope": "read"}))),
        ListTokens => (M::GET, "/api/v1/me/tokens".into(), None),
        RevokeToken => {
            let (id, _) = create_token(&w.app, &w.owner, "read").await;
            (M::DELETE, format!("/api/v1/me/tokens/{id}"), None)
        }
        GetNotificationSettings => (M::GET, "/api/v1/me/notifications".into(), None),
        PatchNotificationSettings => (M::PATCH, "/api/v1/me/notifications".into(), Some(json!({"digest": true}))),
        MyTasks => (M::GET, "/api/v1/me/tasks".into(), None),
        ListAllTasks => (M::GET, "/api/v1/tasks?status=todo".into(), None),
        AdminListUsers => (M::GET, "/api/v1/admin/users".into(), None),
        AdminUpdateUser => (M::PATCH, format!("/api/v1/admin/users/{}", w.spare_id), Some(json!({"is_admin": false}))),
        CreateProject => (M::POST, "/api/v1/projects".into(), Some(json!({"name": "matrix"}))),
        ListProjects => (M::GET, "/api/v1/projects".into(), None),
        GetProject => (M::GET, p, None),
        UpdateProject => (M::PATCH, p, Some(json!({"description": format!("d{}", w.next())}))),
        ArchiveProject => (M::PATCH, p, Some(json!({"archived": false}))),
        DeleteProject => {
            let fresh = create_project(&w.app, &w.owner, "to delete").await;
            for (name, role) in [("editor", "editor"), ("viewer", "viewer"), ("disabled", "editor")] {
                add_member(&w.app, &w.owner, fresh, name, role).await;
            }
            (M::DELETE, format!("/api/v1/projects/{fresh}"), None)
        }
        ListMembers => (M::GET, format!("{p}/members"), None),
        AddMember => {
            w.set_spare(false).await;
            (M::POST, format!("{p}/members"), Some(json!({"email": "spare@example.com", "role": "viewer"})))
        }
        UpdateMember => {
            w.set_spare(true).await;
            (M::PATCH, format!("{p}/members/{}", w.spare_id), Some(json!({"role": "editor"})))
        }
        RemoveMember => {
            w.set_spare(true).await;
            (M::DELETE, format!("{p}/members/{}", w.spare_id), None)
        }
        CreateLabel => {
            (M::POST, format!("{p}/labels"), Some(json!({"name": format!("new {}", w.next()), "color": "#123456"})))
        }
        ListLabels => (M::GET, format!("{p}/labels"), None),
        UpdateLabel => {
            let l = w.fresh_label().await;
            (M::PATCH, format!("{p}/labels/{l}"), Some(json!({"color": "#654321"})))
        }
        DeleteLabel => {
            let l = w.fresh_label().await;
            (M::DELETE, format!("{p}/labels/{l}"), None)
        }
        CreateTask => (M::POST, format!("{p}/tasks"), Some(json!({"title": "matrix"}))),
        ListProjectTasks => (M::GET, format!("{p}/tasks"), None),
        GetTask => (M::GET, format!("/api/v1/tasks/{}", w.fresh_task().await), None),
        UpdateTask => (M::PATCH, format!("/api/v1/tasks/{}", w.fresh_task().await), Some(json!({"priority": "high"}))),
        DeleteTask => (M::DELETE, format!("/api/v1/tasks/{}", w.fresh_task().await), None),
        MoveTask => (M::POST, format!("/api/v1/tasks/{}/move", w.fresh_task().await), Some(json!({"status": "done"}))),
        AddComment => {
            (M::POST, format!("/api/v1/tasks/{}/comments", w.fresh_task().await), Some(json!({"body": "hi"})))
        }
        ListComments => (M::GET, format!("/api/v1/tasks/{}/comments", w.fresh_task().await), None),
        DeleteComment => {
            let t = w.fresh_task().await;
            let c = w.owner_call(M::POST, &format!("/api/v1/tasks/{t}/comments"), Some(json!({"body": "mine"}))).await;
            (M::DELETE, format!("/api/v1/tasks/{t}/comments/{}", c["id"]), None)
        }
        ListActivity => (M::GET, format!("/api/v1/tasks/{}/activity", w.fresh_task().await), None),
        ExportProject => (M::GET, format!("{p}/export"), None),
        ExportTasksCsv => (M::GET, format!("{p}/tasks.csv"), None),
        ImportProject => (
            M::POST,
            "/api/v1/projects/import".into(),
            Some(json!({"format": "task-manager.project.v1", "name": "Imported", "exported_at": null})),
        ),
        // A JSON string is sent as the CSV body itself (see the call below).
        ImportTodoist => (M::POST, "/api/v1/projects/import/todoist".into(), Some(json!(TODOIST_MATRIX_CSV))),
        ImportTrello => (
            M::POST,
            "/api/v1/projects/import/trello".into(),
            Some(
                json!({"name": "Board", "lists": [{"id": "l", "name": "To do"}], "cards": [{"id": "c", "name": "Card", "idList": "l"}]}),
            ),
        ),
        ExportAccount => (M::GET, "/api/v1/me/export".into(), None),
        AddChecklistItem => {
            (M::POST, format!("/api/v1/tasks/{}/checklist", w.fresh_task().await), Some(json!({"text": "item"})))
        }
        ListChecklist => (M::GET, format!("/api/v1/tasks/{}/checklist", w.fresh_task().await), None),
        UpdateChecklistItem => {
            let (t, i) = w.fresh_item().await;
            (M::PATCH, format!("/api/v1/tasks/{t}/checklist/{i}"), Some(json!({"done": true})))
        }
        DeleteChecklistItem => {
            let (t, i) = w.fresh_item().await;
            (M::DELETE, format!("/api/v1/tasks/{t}/checklist/{i}"), None)
        }
        AddRelation => {
            let (a, b) = (w.fresh_task().await, w.fresh_task().await);
            (M::POST, format!("/api/v1/tasks/{a}/relations"), Some(json!({"kind": "relates_to", "task_id": b})))
        }
        ListRelations => (M::GET, format!("/api/v1/tasks/{}/relations", w.fresh_relation().await.0), None),
        DeleteRelation => {
            let (_, b, r) = w.fresh_relation().await;
            (M::DELETE, format!("/api/v1/tasks/{b}/relations/{r}"), None)
        }
        // The body is sent as a multipart form (see `call`).
        UploadAttachment => (M::POST, format!("/api/v1/tasks/{}/attachments", w.fresh_task().await), None),
        ListAttachments => (M::GET, format!("/api/v1/tasks/{}/attachments", w.fresh_task().await), None),
        DownloadAttachment => (M::GET, w.fresh_attachment().await, None),
        DeleteAttachment => (M::DELETE, w.fresh_attachment().await, None),
        BulkEdit => {
            let ids = [w.fresh_task().await, w.fresh_task().await];
            (M::POST, format!("{p}/tasks/bulk"), Some(json!({"task_ids": ids, "set": {"priority": "high"}})))
        }
        CreateWebhook => (M::POST, format!("{p}/webhooks"), Some(hook())),
        ListWebhooks => (M::GET, format!("{p}/webhooks"), None),
        UpdateWebhook => (M::PATCH, format!("{p}/webhooks/{}", w.fresh_webhook().await), Some(json!({"active": true}))),
        DeleteWebhook => (M::DELETE, format!("{p}/webhooks/{}", w.fresh_webhook().await), None),
        ListDeliveries => (M::GET, format!("{p}/webhooks/{}/deliveries", w.fresh_webhook().await), None),
        Login => (M::POST, "/api/v1/auth/login".into(), Some(json!({"email": email_of(actor), "password": PASSWORD}))),
        Logout => (M::POST, "/api/v1/auth/logout".into(), None),
    }
}

async fn world(b: Backend) -> World {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("owner").await;
    let (editor, _) = app.user("editor").await;
    let (viewer, _) = app.user("viewer").await;
    let (outsider, _) = app.user("outsider").await;
    let (disabled, disabled_id) = app.user("disabled").await;
    let (_, spare_id) = app.user("spare").await;
    let (admin, _) = admin_client(&app).await;
    let pid = create_project(&app, &owner, "Matrix").await;
    add_member(&app, &owner, pid, "editor", "editor").await;
    add_member(&app, &owner, pid, "viewer", "viewer").await;
    add_member(&app, &owner, pid, "disabled", "editor").await;
    // The outsider has a project of their own.
    create_project(&app, &outsider, "Outside").await;
    let (_, ro) = create_token(&app, &owner, "read").await;
    let (expired_id, expired) = create_token(&app, &owner, "read_write").await;
    assert_eq!(app.call(&bearer(&expired), Method::GET, "/api/v1/me", None).await.0, 200);
    expire_token(&app, expired_id).await;
    let (s, _) = app
        .call(&admin, Method::PATCH, &format!("/api/v1/admin/users/{disabled_id}"), Some(json!({"disabled": true})))
        .await;
    assert_eq!(s, 200);
    let clients = vec![
        (Actor::Owner, owner.clone()),
        (Actor::Editor, editor),
        (Actor::Viewer, viewer),
        (Actor::Outsider, outsider),
        (Actor::ReadOnlyToken, bearer(&ro)),
        (Actor::ExpiredToken, bearer(&expired)),
        (Actor::Disabled, disabled),
        (Actor::Admin, admin),
        (Actor::Anonymous, app.client()),
    ];
    World { app, owner, clients, pid, spare_id, n: AtomicUsize::new(0) }
}

/// Got, expected, and whether the cell is right (status and nothing written).
type Cell = (u16, u16, bool);

both!(every_endpoint_by_every_caller, |b| async move {
    let w = world(b).await;
    let mut table: Vec<(Row, Vec<Cell>)> = vec![];
    let mut failed = false;
    for row in ROWS {
        let exp = expected(row);
        let mut cells = vec![];
        for (i, actor) in ACTORS.into_iter().enumerate() {
            let (method, path, body) = request(&w, row, actor).await;
            let before = snapshot(&w.app).await;
            // Anonymous is a fresh browser each time (signing in must not stick).
            let fresh = w.app.client();
            let client = if actor == Actor::Anonymous { &fresh } else { w.client(actor) };
            let (status, resp) = match (row, body) {
                (Row::UploadAttachment, _) => {
                    let task = path.split('/').nth(4).unwrap().parse().unwrap();
                    upload(&w.app, client, task, "a.txt", b"text".to_vec(), "text/plain").await
                }
                (_, Some(Value::String(csv))) => {
                    decode(
                        client
                            .request(method.clone(), w.app.url(&path))
                            .header("content-type", "text/csv")
                            .body(csv)
                            .send()
                            .await
                            .unwrap(),
                    )
                    .await
                }
                (_, body) => w.app.call(client, method.clone(), &path, body).await,
            };
            let got = status.as_u16();
            // A refused request writes nothing (login and logout only touch sessions
            // and the throttle, which are expected to change).
            let wrote = !status.is_success() && !matches!(row, Row::Login) && snapshot(&w.app).await != before;
            let ok = got == exp[i] && !wrote;
            if !ok {
                failed = true;
                eprintln!(
                    "{row:?} × {actor:?}: {method} {path} -> {got} (expected {}){} {resp}",
                    exp[i],
                    if wrote { " and WROTE" } else { "" }
                );
            }
            cells.push((got, exp[i], ok));
        }
        table.push((row, cells));
    }
    if failed {
        let mut out = format!("{:<18}", "endpoint");
        for h in HEADINGS {
            out.push_str(&format!("{h:>10}"));
        }
        out.push('\n');
        for (row, cells) in &table {
            out.push_str(&format!("{:<18}", format!("{row:?}")));
            for (got, exp, ok) in cells {
                let cell = if *ok { format!("{got}") } else { format!("!{got}≠{exp}") };
                out.push_str(&format!("{cell:>10}"));
            }
            out.push('\n');
        }
        panic!("access matrix mismatches (! = wrong cell, got≠expected):\n{out}");
    }
});

/// One channel a removed member could still hear from the project through, and
/// whether it still carried anything after the removal.
struct ChannelRow {
    channel: &'static str,
    leaked: bool,
    detail: String,
}

both!(a_removed_member_gets_nothing_on_any_channel, |b| async move {
    use task_manager::notify::{outbox::deliver_due, schedule};
    let sink = crate::common::smtp::SmtpSink::start().await;
    let app = crate::notifications::app_with_smtp(b, &sink).await;
    let (alice, _) = app.user("alice").await;
    let (bob, bob_id) = app.user("bob").await;
    let pid = create_project(&app, &alice, "Launch").await;
    add_member(&app, &alice, pid, "bob", "editor").await;
    let settings = json!({"digest_time": "00:00", "reminder_lead_minutes": 1440});
    assert_eq!(app.call(&bob, Method::PATCH, "/api/v1/me/notifications", Some(settings)).await.0, 200);
    let at = |m: i64| chrono::DateTime::from_timestamp_millis(task_manager::domain::now_millis() + m * 60_000).unwrap();
    let overdue =
        create_task(&app, &alice, pid, json!({"title": "Overdue", "assignee_id": bob_id, "due_at": at(-120)})).await
            ["id"]
            .as_i64()
            .unwrap();
    let soon = create_task(&app, &alice, pid, json!({"title": "Soon", "assignee_id": bob_id, "due_at": at(60)})).await
        ["id"]
        .as_i64()
        .unwrap();
    let his = create_task(&app, &bob, pid, json!({"title": "Bob's own"})).await["id"].as_i64().unwrap();
    deliver_due(&app.state).await.unwrap();
    let mails_before = sink.messages().len();

    // Bob is removed; his tasks are unassigned and each task's activity says so.
    assert_eq!(
        app.call(&alice, Method::DELETE, &format!("/api/v1/projects/{pid}/members/{bob_id}"), None).await.0,
        204
    );
    for t in [overdue, soon] {
        let task = get_task(&app, &alice, t).await;
        assert_eq!(task["assignee_id"], Value::Null, "{task}");
        let (_, activity) = app.call(&alice, Method::GET, &format!("/api/v1/tasks/{t}/activity"), None).await;
        let text = activity.to_string();
        assert!(text.contains("assignee_id") && text.contains(&bob_id.to_string()), "{activity}");
    }
    // Confidential changes after he left, and data from before this rule existed: a
    // task that still names him as its assignee.
    for t in [overdue, soon, his] {
        let (s, _) = app
            .call(&alice, Method::PATCH, &format!("/api/v1/tasks/{t}"), Some(json!({"title": format!("Secret {t}")})))
            .await;
        assert_eq!(s, 200);
    }
    sqlx::query("update task set assignee_id = $1 where id = $2 or id = $3")
        .bind(bob_id)
        .bind(overdue)
        .bind(soon)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let (s, _) = app
        .call(&alice, Method::POST, &format!("/api/v1/tasks/{his}/comments"), Some(json!({"body": "Secret note"})))
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .call(&alice, Method::PATCH, &format!("/api/v1/tasks/{overdue}"), Some(json!({"assignee_id": bob_id})))
        .await;
    assert_eq!(s, 422, "a removed member cannot be assigned again");

    let now = task_manager::domain::now_millis();
    let reminders = schedule::queue_due_soon(&app.state, now).await.unwrap();
    let digests = schedule::queue_digests(&app.state, now).await.unwrap();
    deliver_due(&app.state).await.unwrap();
    let to_bob: Vec<_> =
        sink.messages().into_iter().skip(mails_before).filter(|m| m.envelope_to == "bob@example.com").collect();
    let mail = |what: &str| to_bob.iter().filter(|m| m.subject.contains(what) || m.text.contains(what)).count();
    let status = |path: String| {
        let bob = bob.clone();
        let url = app.url(&path);
        async move { bob.get(url).send().await.unwrap().status().as_u16() }
    };
    let (_, account) = app.call(&bob, Method::GET, "/api/v1/me/export", None).await;
    let rows = [
        ChannelRow { channel: "e-mail: assignment", leaked: mail("assigned") > 0, detail: format!("{to_bob:?}") },
        ChannelRow { channel: "e-mail: comment", leaked: mail("commented") > 0, detail: format!("{to_bob:?}") },
        ChannelRow {
            channel: "digest",
            leaked: digests > 0 || mail("Your tasks") > 0,
            detail: format!("{digests} queued"),
        },
        ChannelRow {
            channel: "reminder",
            leaked: reminders > 0 || mail("Secret") > 0,
            detail: format!("{reminders} queued"),
        },
        ChannelRow {
            channel: "export: project",
            leaked: status(format!("/api/v1/projects/{pid}/export")).await != 404,
            detail: String::new(),
        },
        ChannelRow {
            channel: "export: tasks.csv",
            leaked: status(format!("/api/v1/projects/{pid}/tasks.csv")).await != 404,
            detail: String::new(),
        },
        ChannelRow {
            channel: "export: account",
            leaked: account.to_string().contains("Secret") || account.to_string().contains("Launch"),
            detail: account.to_string(),
        },
        ChannelRow {
            channel: "webhooks",
            leaked: status(format!("/api/v1/projects/{pid}/webhooks")).await != 404,
            detail: String::new(),
        },
        ChannelRow {
            channel: "my tasks",
            leaked: status("/api/v1/me/tasks".into()).await != 200 || {
                let (_, mine) = app.call(&bob, Method::GET, "/api/v1/me/tasks", None).await;
                mine.to_string().contains("Secret")
            },
            detail: String::new(),
        },
    ];
    let leaks: Vec<String> = rows.iter().filter(|r| r.leaked).map(|r| format!("{}: {}", r.channel, r.detail)).collect();
    assert!(leaks.is_empty(), "a removed member still hears from the project:\n{}", leaks.join("\n"));
    assert!(to_bob.is_empty(), "{to_bob:#?}");
});

both!(the_owner_chooses_who_takes_over_a_leaving_members_tasks, |b| async move {
    let app = TestApp::spawn(b).await;
    let (alice, alice_id) = app.user("alice").await;
    let (_, carol_id) = app.user("carol").await;
    let (_, outsider_id) = app.user("olaf").await;
    let pid = create_project(&app, &alice, "Hand over").await;
    add_member(&app, &alice, pid, "carol", "editor").await;
    let t = create_task(&app, &alice, pid, json!({"title": "Carol's", "assignee_id": carol_id})).await["id"]
        .as_i64()
        .unwrap();
    let url = format!("/api/v1/projects/{pid}/members/{carol_id}");
    let before = snapshot(&app).await;
    for bad in [
        format!("{url}?reassign_to={outsider_id}"),
        format!("{url}?reassign_to={carol_id}"),
        format!("{url}?reassign_to=x"),
    ] {
        let (s, p) = app.call(&alice, Method::DELETE, &bad, None).await;
        assert_eq!((s.as_u16(), field_names(&p)), (422, vec!["reassign_to".to_owned()]), "{bad}: {p}");
    }
    assert_unchanged(&before, &snapshot(&app).await, "refused removals");
    let (s, _) = app.call(&alice, Method::DELETE, &format!("{url}?reassign_to={alice_id}"), None).await;
    assert_eq!(s, 204);
    assert_eq!(get_task(&app, &alice, t).await["assignee_id"], alice_id);
});
