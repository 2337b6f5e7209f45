//! Account settings: profile and time zone, password, API tokens.

use crate::{
    both,
    common::TestApp,
    support::{Browser, PASSWORD},
};

both!(profile_password_and_tokens, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("tina").await;
    let page = br.get("/account").await;
    assert!(page.body.contains("No tokens yet."));
    br.post("/account/profile", &[("display_name", "Tina T"), ("time_zone", "Asia/Tokyo")])
        .await
        .redirects_to("/account");
    let page = br.get("/account").await;
    assert!(page.body.contains("value=\"Tina T\"") && page.body.contains("<option selected>Asia/Tokyo</option>"));
    let res = br.post("/account/profile", &[("display_name", "Tina"), ("time_zone", "Mars/Olympus")]).await;
    assert_eq!(res.status, 422);

    let res = br
        .post(
            "/account/password",
            &[
                ("current_password", "wrong one!!"),
                ("new_password", "another horse battery"),
                ("confirm_password", "another horse battery"),
            ],
        )
        .await;
    assert_eq!(res.status, 422);
    br.post(
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "another horse battery"),
            ("confirm_password", "another horse battery"),
        ],
    )
    .await
    .redirects_to("/account");

    // A token: the secret is shown once, works, is listed without it, and revoking ends it.
    br.get("/account").await;
    let res = br.post("/account/tokens", &[("name", "ci"), ("scope", "read_write"), ("expires_in_days", "30")]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.headers["cache-control"], "no-store");
    let start = res.body.find("id=\"new-token\" class=\"code\" readonly value=\"").unwrap() + 44;
    let secret = res.body[start..start + res.body[start..].find('"').unwrap()].to_owned();
    assert!(secret.starts_with("tm_"), "{secret}");
    let api = reqwest::Client::new();
    let me = api.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let page = br.get("/account").await;
    assert!(!page.body.contains(&secret), "never shown again");
    assert!(page.body.contains(">ci<") && page.body.contains("Revoke"));
    let marker = "action=\"/account/tokens/";
    let start = page.body.find(marker).unwrap() + marker.len();
    let id = page.body[start..].split('/').next().unwrap().to_owned();
    br.post(&format!("/account/tokens/{id}/revoke"), &[]).await.redirects_to("/account");
    let me = api.get(app.url("/api/v1/me")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(me.status(), 401);
    assert!(br.get("/account").await.body.contains("Revoked"));
    // A token does not sign in to the UI.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/projects"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
});

both!(notification_settings_form, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("nina").await;
    let page = br.get("/account").await;
    assert!(page.body.contains("E-mail notifications"));
    for kind in ["assigned", "due_soon", "digest", "comment"] {
        assert!(page.body.contains(&format!("name=\"{kind}\" value=\"on\" checked")), "{kind} is on by default");
    }
    assert!(page.body.contains("<option value=\"1440\" selected>1 day</option>"));
    assert!(page.body.contains("name=\"digest_time\" type=\"time\" required value=\"08:00\""));
    // Unchecked boxes are not sent: those kinds turn off.
    br.post(
        "/account/notifications",
        &[("assigned", "on"), ("comment", "on"), ("reminder_lead_minutes", "60"), ("digest_time", "07:30")],
    )
    .await
    .redirects_to("/account#notifications");
    let page = br.get("/account").await;
    assert!(page.body.contains("name=\"assigned\" value=\"on\" checked"));
    assert!(page.body.contains("name=\"due_soon\" value=\"on\">"), "due_soon unchecked");
    assert!(page.body.contains("name=\"digest\" value=\"on\">"), "digest unchecked");
    assert!(page.body.contains("<option value=\"60\" selected>1 hour</option>"));
    assert!(page.body.contains("value=\"07:30\""));
    // A bad value shows the error and changes nothing.
    let res = br.post("/account/notifications", &[("reminder_lead_minutes", "60"), ("digest_time", "29:99")]).await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("digest_time must be HH:MM"));
    let page = br.get("/account").await;
    assert!(page.body.contains("name=\"assigned\" value=\"on\" checked") && page.body.contains("value=\"07:30\""));
});
