//! The web console in a real browser (headless Chromium through WebDriver): a wrong token
//! sees nothing; the right one signs in, creates an instance with labels with the form,
//! sees it become running, narrows the list with a label selector (kept across a reload;
//! a bad one shows the server's message), opens its page (endpoint, labels, health chart,
//! events, parameters, operations), follows its server log there (new lines appear as
//! text, the oldest go, leaving the page ends the follow), sets and resets a PostgreSQL
//! parameter and sets and removes a label with the page's forms (a value or label the
//! server refuses shows its message and changes nothing), stops and starts it with the
//! buttons, takes a backup, sets and ends a backup schedule, restores the backup to a
//! moment into a new instance and sees it run, switches an instance with a standby over
//! from its members' table, follows an operation's timeline, and deletes the instance.
//! Each page is saved as a screenshot under `target/console-screenshots/`. The pages come
//! with a Content-Security-Policy that forbids inline script and framing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use toygres_test_support::browser::{self, Browser, PAGE_WAIT};
use toygres_test_support::eventually;
use toygres_test_support::psql::psql;
use toygres_test_support::server::{ServerOptions, TestServer};

use crate::instance_logs::log_marker;

const TOKEN_KEY: &str = "toygres.token";

/// Where the screenshots go: kept after the run, as the test's artifacts.
fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshots directory");
    dir
}

async fn stored_token(browser: &Browser) -> serde_json::Value {
    let script = "return sessionStorage.getItem(arguments[0]);";
    browser.execute(script, vec![json!(TOKEN_KEY)]).await
}

async fn sign_in(browser: &Browser, console: &str, token: &str) {
    browser.goto(console).await;
    let field = browser.wait_for("[data-test=token]").await;
    browser.type_into(&field, token).await;
    browser.click_on("[data-test=sign-in]").await;
}

/// The API's answer to a GET, as the CLI's user would see it: status and JSON body.
async fn api_get(server: &TestServer, path: &str) -> (reqwest::StatusCode, Value) {
    let answer = reqwest::Client::new()
        .get(format!("{}/api/v1{path}", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap())
}

/// Which of these instances the console's list shows now.
async fn listed(browser: &Browser, names: &[&str]) -> Vec<bool> {
    let script = "return arguments[0].map((name) => \
                  document.querySelector(`[data-instance=\"${name}\"]`) !== null);";
    let shown = browser.execute(script, vec![json!(names)]).await;
    serde_json::from_value(shown).unwrap()
}

async fn type_selector(browser: &Browser, selector: &str) {
    let field = browser.wait_for("[data-test=filter-selector]").await;
    browser.clear(&field).await;
    // U+E007 is WebDriver's Enter key.
    browser
        .type_into(&field, &format!("{selector}\u{E007}"))
        .await;
}

/// The instances page narrowed by a label selector: only shop (team=web) stays, the
/// selector rides in the hash and survives a reload, and a selector the server refuses
/// shows its message.
async fn filters_by_label(browser: &Browser, server: &TestServer, shots: &Path) {
    browser
        .wait_for("[data-instance=shop] [data-label=team]")
        .await;
    let chips = browser
        .execute(
            "return document.querySelector('[data-instance=shop] [data-test=labels]').innerText;",
            vec![],
        )
        .await;
    assert!(
        chips.as_str().unwrap().contains("team=web") && chips.as_str().unwrap().contains("tier=db"),
        "{chips}"
    );
    type_selector(browser, "team=web").await;
    eventually("only shop listed", Duration::from_secs(10), || async {
        (listed(browser, &["shop", "ledger"]).await == [true, false]).then_some(())
    })
    .await;
    let hash = browser.execute("return location.hash;", vec![]).await;
    assert_eq!(hash, "#/instances?selector=team%3Dweb");
    browser
        .screenshot(&shots.join("instances-selected.png"))
        .await;

    browser.execute("location.reload();", vec![]).await;
    browser.wait_for("[data-instance=shop]").await;
    let kept = "return document.querySelector('[data-test=filter-selector]').value;";
    assert_eq!(browser.execute(kept, vec![]).await, "team=web");
    assert_eq!(listed(browser, &["shop", "ledger"]).await, [true, false]);

    type_selector(browser, "team!=web,team").await;
    eventually("only ledger listed", Duration::from_secs(10), || async {
        (listed(browser, &["shop", "ledger"]).await == [false, true]).then_some(())
    })
    .await;

    let bad = "team in (web";
    let (status, refusal) = api_get(server, "/instances?selector=team%20in%20(web").await;
    assert_eq!(status, 400, "{refusal}");
    assert_eq!(refusal["error"], "invalid_labels");
    type_selector(browser, bad).await;
    browser
        .wait_for_text(refusal["message"].as_str().unwrap())
        .await;
    assert_eq!(listed(browser, &["shop", "ledger"]).await, [false, false]);

    browser.click_on("[data-test=nav-instances]").await;
    eventually("the whole fleet again", Duration::from_secs(10), || async {
        (listed(browser, &["shop", "ledger"]).await == [true, true]).then_some(())
    })
    .await;
}

/// The API's answer to a POST with a JSON body: status and JSON body.
async fn api_post(server: &TestServer, path: &str, body: Value) -> (reqwest::StatusCode, Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/api/v1{path}", server.url))
        .bearer_auth(&server.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap())
}

/// The parameters table's row for `name` as the page shows it now: its value (the
/// server's, in its unit) and what was asked for; `Some(None)` when the table lists it
/// not, `None` while there is no table (the instance is not running, or it is being read).
async fn parameter_row(browser: &Browser, name: &str) -> Option<Option<(String, String)>> {
    let script = "const table = document.querySelector('[data-test=parameters]'); \
                  if (!table) return 'no table'; \
                  const row = table.querySelector(`[data-parameter=\"${arguments[0]}\"]`); \
                  return row && [row.children[1].textContent, row.children[3].textContent];";
    let row = browser.execute(script, vec![json!(name)]).await;
    if row == "no table" {
        return None;
    }
    Some(serde_json::from_value(row).unwrap())
}

/// `work_mem` as the instance's server and the API have it: `SHOW work_mem`, and the
/// `config` entry (value, desired) when the API lists it.
async fn work_mem(server: &TestServer) -> (String, Option<(Value, Value)>) {
    let shop = server.cli_ok(&["connection-string", "shop"]).await;
    let shown = psql(shop.trim(), "SHOW work_mem").unwrap();
    let (_, config) = api_get(server, "/instances/shop/config").await;
    let listed = config["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "work_mem")
        .map(|parameter| (parameter["value"].clone(), parameter["desired"].clone()));
    (shown, listed)
}

/// How many configure operations shop has had, and whether they all completed.
async fn configures(server: &TestServer) -> (usize, bool) {
    let (_, list) = api_get(server, "/operations?instance=shop&kind=configure").await;
    let operations = list["operations"].as_array().unwrap();
    let completed = operations
        .iter()
        .all(|operation| operation["status"] == "completed");
    (operations.len(), completed)
}

async fn fill(browser: &Browser, css: &str, text: &str) {
    let field = browser.wait_for(css).await;
    browser.clear(&field).await;
    browser.type_into(&field, text).await;
}

/// On shop's page, with its forms: work_mem set to 64MB (the configure operation runs,
/// the table is read again and shows the server's 65536kB and the 64MB asked for, as the
/// API, the CLI and the server itself say); a value PostgreSQL refuses shows PostgreSQL's
/// message beside the form and changes nothing; *Reset* puts work_mem back to its
/// default. A label set (tier=gold over tier=db), one the server refuses (its message,
/// nothing changed), and the label removed with its ×, each as the API then reads it.
async fn edits_parameters_and_labels(browser: &Browser, server: &TestServer, shots: &Path) {
    let before = work_mem(server).await;
    browser
        .wait_for("[data-test=parameters] [data-parameter=port]")
        .await;
    fill(browser, "[data-test=parameter-name]", "work_mem").await;
    fill(browser, "[data-test=parameter-value]", "64MB").await;
    browser
        .click_on("[data-test=parameter-set]:not([disabled])")
        .await;
    eventually(
        "the table to show work_mem at 64MB",
        Duration::from_secs(60),
        || async {
            let row = parameter_row(browser, "work_mem").await??;
            (row == ("65536kB".to_owned(), "64MB".to_owned())).then_some(())
        },
    )
    .await;
    browser
        .wait_for("[data-test=events] [data-status=configuring]")
        .await;
    let asked = (json!("65536kB"), json!("64MB"));
    assert_eq!(
        work_mem(server).await,
        ("64MB".to_owned(), Some(asked.clone()))
    );
    let shown = server
        .cli_ok(&["-o", "json", "config", "show", "shop"])
        .await;
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert!(
        shown["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|parameter| parameter["name"] == "work_mem" && parameter["desired"] == "64MB"),
        "{shown}"
    );
    assert_eq!(configures(server).await, (1, true));
    browser
        .execute(
            "document.querySelector('.toast')?.remove(); \
             document.querySelector('[data-parameter=work_mem]').scrollIntoView({ block: 'center' });",
            vec![],
        )
        .await;
    browser.screenshot(&shots.join("parameters.png")).await;

    // A value PostgreSQL refuses: its own sentence beside the form, and nothing changes.
    fill(browser, "[data-test=parameter-name]", "work_mem").await;
    fill(browser, "[data-test=parameter-value]", "abc").await;
    browser
        .click_on("[data-test=parameter-set]:not([disabled])")
        .await;
    let refused = r#"invalid value for parameter "work_mem": "abc""#;
    browser
        .wait_for("[data-test=parameters-notice] [role=alert]")
        .await;
    let said = "return document.querySelector('[data-test=parameters-notice]').textContent;";
    let said = browser.execute(said, vec![]).await;
    assert!(said.as_str().unwrap().contains(refused), "{said}");
    browser
        .wait_for("[data-test=parameter-set]:not([disabled])")
        .await;
    browser
        .screenshot(&shots.join("parameters-refused.png"))
        .await;
    assert_eq!(work_mem(server).await, ("64MB".to_owned(), Some(asked)));
    assert_eq!(configures(server).await, (1, true), "no operation started");
    assert_eq!(
        parameter_row(browser, "work_mem").await,
        Some(Some(("65536kB".to_owned(), "64MB".to_owned())))
    );

    browser
        .click_on("[data-parameter=work_mem] [data-test=reset-parameter]:not([disabled])")
        .await;
    eventually(
        "the table without a work_mem asked for",
        Duration::from_secs(60),
        || async {
            let (_, api) = api_get(server, "/instances/shop").await;
            if api["state"] != "running" {
                return None;
            }
            // Read again, the table has work_mem as before: not asked for.
            match parameter_row(browser, "work_mem").await? {
                None => Some(()),
                Some((_, desired)) => (desired == "—").then_some(()),
            }
        },
    )
    .await;
    assert_eq!(work_mem(server).await, before, "work_mem as it was");
    assert_eq!(configures(server).await, (2, true));

    // Labels: tier=db becomes tier=gold, a bad one is refused, then tier goes.
    fill(browser, "[data-test=label-set]", "tier=gold").await;
    browser
        .click_on("[data-test=label-add]:not([disabled])")
        .await;
    let chip = "return document.querySelector('[data-test=instance-labels] [data-label=tier]')\
                ?.firstChild.textContent;";
    eventually("the chip tier=gold", PAGE_WAIT, || async {
        (browser.execute(chip, vec![]).await == "tier=gold").then_some(())
    })
    .await;
    let (_, shop) = api_get(server, "/instances/shop").await;
    assert_eq!(shop["labels"], json!({ "team": "web", "tier": "gold" }));

    let (status, refusal) = api_post(
        server,
        "/instances/shop/labels",
        json!({ "set": { "tier": "not ok!" } }),
    )
    .await;
    assert_eq!(status, 400, "{refusal}");
    assert_eq!(refusal["error"], "invalid_labels");
    fill(browser, "[data-test=label-set]", "tier=not ok!").await;
    browser
        .click_on("[data-test=label-add]:not([disabled])")
        .await;
    browser
        .wait_for_text(refusal["message"].as_str().unwrap())
        .await;
    browser
        .wait_for("[data-test=labels-notice] [role=alert]")
        .await;
    let (_, shop) = api_get(server, "/instances/shop").await;
    assert_eq!(shop["labels"], json!({ "team": "web", "tier": "gold" }));
    browser
        .execute(
            "document.querySelector('.toast')?.remove(); \
             document.querySelector('[data-test=instance-labels]').closest('.card').scrollIntoView();",
            vec![],
        )
        .await;
    browser.screenshot(&shots.join("labels.png")).await;

    browser
        .click_on("[data-label=tier] [data-test=remove-label]:not([disabled])")
        .await;
    eventually("the chip tier gone", PAGE_WAIT, || async {
        let gone = "return !document.querySelector('[data-test=instance-labels] [data-label=tier]') \
                    && !!document.querySelector('[data-test=instance-labels] [data-label=team]');";
        (browser.execute(gone, vec![]).await == json!(true)).then_some(())
    })
    .await;
    let (_, shop) = api_get(server, "/instances/shop").await;
    assert_eq!(shop["labels"], json!({ "team": "web" }));
    browser.execute("window.scrollTo(0, 0);", vec![]).await;
}

/// What the server log panel of the page shown holds, and how it is scrolled.
async fn log_panel(browser: &Browser) -> (String, u64, bool) {
    let script = "const log = document.querySelector('[data-test=server-log]'); \
                  return [log.textContent, log.childElementCount, \
                  log.scrollHeight - log.scrollTop - log.clientHeight < 10];";
    let (text, lines, at_bottom) =
        serde_json::from_value(browser.execute(script, vec![]).await).unwrap();
    (text, lines, at_bottom)
}

/// Waits until the server log panel shows `text`.
async fn log_shows(browser: &Browser, text: &str) {
    eventually(
        &format!("the log panel to show {text:?}"),
        PAGE_WAIT,
        || async { log_panel(browser).await.0.contains(text).then_some(()) },
    )
    .await;
}

/// On shop's page: its PostgreSQL server log, followed. The lines of its start, then lines
/// its tenant writes while the page is open, without a reload: a flood of them keeps the
/// newest 2000 and scrolls along, a line that looks like markup shows as text and makes no
/// element, and a reader scrolled up stays where they are. Leaving the page ends the follow:
/// the panel left behind sees no later line.
async fn follows_the_server_log(browser: &Browser, server: &TestServer, shots: &Path) {
    log_shows(browser, "database system is ready to accept connections").await;
    browser.wait_for("[data-follow=following]").await;

    let shop = server.cli_ok(&["connection-string", "shop"]).await;
    let flood = "DO $$ BEGIN FOR i IN 1..2100 LOOP RAISE LOG 'flood %', i; END LOOP; END $$";
    psql(shop.trim(), flood).unwrap();
    log_shows(browser, "LOG:  flood 2100").await;
    let (text, lines, at_bottom) = log_panel(browser).await;
    assert_eq!(lines, 2000, "the newest 2000 lines are kept");
    assert!(
        !text.contains("ready to accept connections"),
        "the oldest are dropped"
    );
    assert!(at_bottom, "a reader at the bottom follows the newest line");

    let scrolled = "const log = document.querySelector('[data-test=server-log]'); \
                    log.scrollTop = 1000; return log.scrollTop;";
    let scrolled = browser.execute(scrolled, vec![]).await;
    let planted = "<b data-test=planted>written while the page is open</b>";
    log_marker(server, "shop", planted).await;
    log_shows(browser, planted).await;
    let (_, lines, at_bottom) = log_panel(browser).await;
    assert_eq!(lines, 2000);
    assert!(!at_bottom, "a reader scrolled up stays there");
    let top = "return document.querySelector('[data-test=server-log]').scrollTop;";
    let top = browser.execute(top, vec![]).await;
    assert!(
        top.as_f64().unwrap() < scrolled.as_f64().unwrap(),
        "the lines in view stay in view as older ones go above them: {scrolled} then {top}"
    );
    assert!(
        browser.find("[data-test=planted]").await.is_none(),
        "the log's text is never markup"
    );
    let to_bottom = "const log = document.querySelector('[data-test=server-log]'); \
                     log.scrollIntoView(); log.scrollTop = log.scrollHeight;";
    browser.execute(to_bottom, vec![]).await;
    browser.screenshot(&shots.join("server-log.png")).await;

    // The panel kept in hand while the page is left: nothing reads into it any more.
    let keep = "window.leftLog = document.querySelector('[data-test=server-log]'); \
                location.hash = '#/instances';";
    browser.execute(keep, vec![]).await;
    browser.wait_for("[data-instance=shop]").await;
    log_marker(server, "shop", "written-after-leaving").await;
    let after = server.cli_ok(&["logs", "shop", "--tail", "5"]).await;
    assert!(after.contains("written-after-leaving"), "{after}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let left = "return [window.leftLog.textContent.includes('written-after-leaving'), \
                window.leftLog.parentElement.dataset.follow];";
    assert_eq!(
        browser.execute(left, vec![]).await,
        json!([false, "stopped"]),
        "leaving the page ends the follow"
    );
    browser
        .execute("location.hash = '#/instances/shop';", vec![])
        .await;
    browser.wait_for("[data-test=endpoint]").await;
}

/// On shop's page: a backup taken with the button shows as completed; a schedule is set
/// and ended (the API agrees each time); the backup is restored to a moment picked within
/// its bounds into `restored`, which runs. A restore the server refuses says why.
async fn backs_up_and_restores(browser: &Browser, server: &TestServer, shots: &Path) {
    browser
        .click_on("[data-test=take-backup]:not([disabled])")
        .await;
    eventually("a completed backup listed", Duration::from_secs(90), || {
        browser.find("[data-test=backups] [data-backup] [data-status=completed]")
    })
    .await;
    let (_, list) = api_get(server, "/backups?instance=shop").await;
    let backups = list["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1, "{list}");
    let backup = &backups[0];
    assert_eq!(backup["state"], "completed", "{backup}");
    let id = backup["id"].as_str().unwrap();
    browser
        .wait_for(&format!("[data-backup=\"{id}\"] [data-status=completed]"))
        .await;

    // A schedule: every 2 hours, the newest 3 kept; then none.
    browser
        .wait_for("[data-test=schedule-status][data-schedule=none]")
        .await;
    let every = browser.wait_for("[data-test=schedule-every]").await;
    browser.clear(&every).await;
    browser.type_into(&every, "2").await;
    browser
        .click_on("[data-test=schedule-unit] option[value='3600']")
        .await;
    let keep = browser.wait_for("[data-test=schedule-keep]").await;
    browser.clear(&keep).await;
    browser.type_into(&keep, "3").await;
    browser.click_on("[data-test=schedule-set]").await;
    browser
        .wait_for("[data-test=schedule-status][data-schedule='7200/3']")
        .await;
    browser
        .wait_for_text("Every 2 hours, keeping the newest 3.")
        .await;
    let (_, schedule) = api_get(server, "/instances/shop/backup-schedule").await;
    assert_eq!(
        schedule["schedule"],
        json!({ "every_secs": 7200, "keep": 3 }),
        "{schedule}"
    );
    browser.screenshot(&shots.join("backups.png")).await;
    browser
        .click_on("[data-test=schedule-end]:not([disabled])")
        .await;
    browser
        .wait_for("[data-test=schedule-status][data-schedule=none]")
        .await;
    let (_, schedule) = api_get(server, "/instances/shop/backup-schedule").await;
    assert!(schedule["schedule"].is_null(), "{schedule}");

    // A table written after the backup and before the moment the restore picks; the
    // picker's latest moment is a whole second, so a second later is after that.
    let shop = server.cli_ok(&["connection-string", "shop"]).await;
    psql(shop.trim(), "CREATE TABLE before_the_moment ()").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The restore form, bounded by what can be restored: from the backup's end to now.
    browser
        .click_on(&format!(
            "[data-backup=\"{id}\"] [data-test=restore-backup]"
        ))
        .await;
    let name = browser.wait_for("[data-test=restore-name]").await;
    let bounds = "const at = document.querySelector('[data-test=restore-at]'); \
                  return [new Date(at.min).getTime(), new Date(at.max).getTime(), Date.now()];";
    let bounds: [i64; 3] = serde_json::from_value(browser.execute(bounds, vec![]).await).unwrap();
    let finished: DateTime<Utc> = backup["finished_at"].as_str().unwrap().parse().unwrap();
    let finished_ms = finished.timestamp_millis();
    assert_eq!(
        bounds[0],
        finished_ms.div_euclid(1000) * 1000 + if finished_ms % 1000 == 0 { 0 } else { 1000 },
        "the earliest moment is the backup's end, {finished}: {bounds:?}"
    );
    assert!(
        bounds[0] <= bounds[1] && bounds[1] <= bounds[2] && bounds[2] - bounds[1] < 60_000,
        "the latest is about now: {bounds:?}"
    );

    browser.type_into(&name, "ledger").await;
    browser.click_on("[data-test=restore-submit]").await;
    browser
        .wait_for_text(r#"an instance named "ledger" already exists"#)
        .await;
    browser.wait_for(".dialog [role=alert]").await;
    browser.screenshot(&shots.join("restore.png")).await;

    // Written after the moment, this commit is where the replay stops (a replay to a
    // moment needs a later commit in the archive to know it got there).
    psql(shop.trim(), "CREATE TABLE after_the_moment ()").unwrap();
    browser.clear(&name).await;
    browser.type_into(&name, "restored").await;
    let latest = "const at = document.querySelector('[data-test=restore-at]'); \
                  at.value = at.max; at.dispatchEvent(new Event('input', { bubbles: true })); \
                  return at.value;";
    let picked = browser.execute(latest, vec![]).await;
    assert!(!picked.as_str().unwrap().is_empty(), "a moment picked");
    browser.click_on("[data-test=restore-submit]").await;
    browser.wait_for_text("Restoring shop into restored").await;
    let hash = browser.execute("return location.hash;", vec![]).await;
    assert_eq!(hash, "#/instances/restored");
    eventually("restored to run", Duration::from_secs(120), || async {
        let (_, restored) = api_get(server, "/instances/restored").await;
        assert_ne!(restored["state"], "failed", "{restored}");
        browser
            .find("[data-test=state] [data-status=running]")
            .await
    })
    .await;
    let (_, operation) = api_get(server, "/operations?instance=restored&kind=create").await;
    let create = operation["operations"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, create) = api_get(server, &format!("/operations/{create}")).await;
    let from = &create["input"]["restore"]["from"];
    assert_eq!(from["label"], backup["label"], "from the backup: {create}");
    assert_eq!(
        from["target"]["to"], "time",
        "to the moment picked: {create}"
    );
    let restored = server.cli_ok(&["connection-string", "restored"]).await;
    let tables = "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables \
                  WHERE tablename LIKE '%the_moment'";
    assert_eq!(
        psql(restored.trim(), tables).unwrap(),
        "before_the_moment",
        "the data as it was at the moment picked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_runs_an_instance_from_the_console() {
    if !browser::installed() {
        toygres_test_support::skip_or_fail_in_ci("chromium and chromedriver are not installed");
        return;
    }
    let server = TestServer::start(ServerOptions {
        extra_args: vec!["--warm-pool-size".into(), "0".into()],
        ..ServerOptions::embedded()
    })
    .await;
    server
        .cli_ok(&[
            "create",
            "ledger",
            "--standbys",
            "1",
            "--label",
            "team=payments",
            "--wait",
        ])
        .await;
    let shots = screenshots();
    let console = format!("{}/console/", server.url);
    let page = reqwest::get(&console).await.unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    let root = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&server.url)
        .send()
        .await
        .unwrap();
    assert_eq!(
        root.headers()["location"],
        "/console/",
        "/ leads to the console"
    );
    let browser = Browser::start().await;

    sign_in(&browser, &console, "not-the-token").await;
    browser.wait_for("[data-test=sign-in-error]").await;
    browser.screenshot(&shots.join("sign-in-refused.png")).await;
    let refused = browser.text().await;
    assert!(refused.contains("That token was not accepted"), "{refused}");
    assert!(
        !refused.contains("ledger"),
        "a wrong token sees no instance: {refused}"
    );
    assert!(
        stored_token(&browser).await.is_null(),
        "a refused token is not kept"
    );

    let planted =
        "sessionStorage.setItem(arguments[0], 'not-the-token'); location.hash = '#/instances';";
    browser.execute(planted, vec![json!(TOKEN_KEY)]).await;
    browser
        .wait_for_text("The server no longer accepts this session's token")
        .await;
    let text = browser.text().await;
    assert!(
        !text.contains("ledger"),
        "a planted wrong token sees nothing: {text}"
    );
    assert!(stored_token(&browser).await.is_null(), "and is forgotten");

    sign_in(&browser, &console, &server.token).await;
    browser
        .wait_for("[data-instance=ledger] [data-status=running]")
        .await;
    let href = browser.execute("return location.href;", vec![]).await;
    assert!(
        !href.as_str().unwrap().contains(&server.token),
        "no token in a URL: {href}"
    );

    browser.click_on("[data-test=new-instance]").await;
    let name = browser.wait_for("[data-test=new-name]").await;
    browser.type_into(&name, "shop").await;
    let labels = browser.wait_for("[data-test=new-labels]").await;
    browser.type_into(&labels, "team=web, tier=db").await;
    browser.click_on("[data-test=create]").await;
    let running = "[data-instance=shop] [data-status=running]";
    eventually("shop to show as running", Duration::from_secs(90), || {
        browser.find(running)
    })
    .await;
    browser
        .wait_for("[data-instance=shop] [data-status=healthy]")
        .await;
    browser.screenshot(&shots.join("instances.png")).await;
    filters_by_label(&browser, &server, &shots).await;

    browser.click_on("[data-instance=shop] a").await;
    browser.wait_for("[data-test=endpoint]").await;
    // The owner's login, and superuser access off, with what it would give away.
    browser
        .wait_for("[data-test=superuser-access] [data-status=off]")
        .await;
    let checks = "return document.querySelectorAll('[data-test=health-chart] .ok-dot').length;";
    eventually(
        "a few health checks charted",
        Duration::from_secs(30),
        || async { (browser.execute(checks, vec![]).await.as_u64() >= Some(5)).then_some(()) },
    )
    .await;
    browser
        .execute("document.querySelector('.toast')?.remove();", vec![])
        .await;
    browser.wait_for("[data-test=events]").await;
    browser
        .wait_for("[data-test=operations] [data-operation]")
        .await;
    browser.screenshot(&shots.join("instance.png")).await;
    let page = browser.text().await;
    assert!(
        page.contains("creating") && page.contains("PostgreSQL"),
        "{page}"
    );
    let labels = "return document.querySelector('[data-test=instance-labels]').innerText;";
    let labels = browser.execute(labels, vec![]).await;
    assert!(labels.as_str().unwrap().contains("team=web"), "{labels}");
    // Its parameters, read from its server: the port is the one its endpoint names.
    let port = browser
        .execute(
            "return document.querySelector('[data-test=endpoint]').innerText;",
            vec![],
        )
        .await;
    let port = port
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    browser
        .wait_for("[data-test=parameters] [data-parameter=port]")
        .await;
    let shown = "return document.querySelector('[data-parameter=port] td:nth-child(2)').innerText;";
    assert_eq!(browser.execute(shown, vec![]).await, json!(port));
    follows_the_server_log(&browser, &server, &shots).await;
    edits_parameters_and_labels(&browser, &server, &shots).await;

    browser.click_on("[data-test=action-stop]").await;
    browser
        .wait_for("[data-test=state] [data-status=stopped]")
        .await;
    browser
        .click_on("[data-test=action-start]:not([disabled])")
        .await;
    browser
        .wait_for("[data-test=state] [data-status=running]")
        .await;
    let stopped_and_started = server.cli_ok(&["events", "shop"]).await;
    assert!(
        stopped_and_started.contains("stopped"),
        "{stopped_and_started}"
    );

    backs_up_and_restores(&browser, &server, &shots).await;

    // An instance with a standby: its members, and a switchover from the page.
    browser.goto(&format!("{console}#/instances/ledger")).await;
    browser
        .wait_for("[data-test=members] [data-member=ledger-2] [data-status=streaming]")
        .await;
    browser.screenshot(&shots.join("members.png")).await;
    browser
        .click_on("[data-test=action-switchover]:not([disabled])")
        .await;
    eventually(
        "ledger-2 to be the primary",
        Duration::from_secs(60),
        || browser.find("[data-member=ledger-2] [data-role=primary]"),
    )
    .await;
    browser
        .wait_for("[data-member=ledger-1] [data-status=streaming]")
        .await;

    browser.click_on("[data-test=nav-operations]").await;
    browser.wait_for("[data-operation^=start-]").await;
    browser.screenshot(&shots.join("operations.png")).await;
    browser.click_on("[data-operation^=create-shop] a").await;
    browser.wait_for("[data-test=timeline]").await;
    browser.wait_for_text("activity completed").await;
    browser.screenshot(&shots.join("operation.png")).await;

    browser.goto(&format!("{console}#/instances/shop")).await;
    browser
        .click_on("[data-test=action-delete]:not([disabled])")
        .await;
    let confirm = browser.wait_for("[data-test=confirm-name]").await;
    browser.type_into(&confirm, "shop").await;
    browser
        .click_on("[data-test=confirm-delete]:not([disabled])")
        .await;
    browser.wait_for_text("Deleting shop").await;
    eventually("shop to be deleted", Duration::from_secs(60), || async {
        let list = server.cli_ok(&["list"]).await;
        (!list.contains("shop")).then_some(())
    })
    .await;
    let listed = "return [document.querySelector('[data-instance=ledger]') !== null, \
                  document.querySelector('[data-instance=shop]') !== null];";
    eventually(
        "the console's list without shop",
        Duration::from_secs(10),
        || async { (browser.execute(listed, vec![]).await == json!([true, false])).then_some(()) },
    )
    .await;

    browser.click_on("[data-test=sign-out]").await;
    browser.wait_for("[data-test=token]").await;
    assert!(
        stored_token(&browser).await.is_null(),
        "signing out forgets the token"
    );
    assert!(
        !server.log().contains(&server.token),
        "the token is never logged"
    );
}
