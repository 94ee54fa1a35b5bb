//! Webhook notifications of `pimwatch run`, against receivers on loopback ports the test
//! starts: each open alert at or above a webhook's severity posted exactly once per webhook
//! (not again while ongoing), in the generic JSON, Teams and Slack formats, a flood as one
//! summary, a failed delivery retried (then tried again by the next run), and the webhook
//! URL's token in no log line, report or lake file.

use std::path::{Path, PathBuf};

use crate::support::{pimwatch_command, text, TestLake, WebhookReceiver};

const TOKEN: &str = "SECRETTOKEN0123456789";

/// The fixtures' healthy tenant with a guest admin (high) and a stale admin (medium), in an
/// inbox exported on 2026-11-01, and a config posting to the three receivers.
fn setup(lake: &TestLake, slack_url: &str, teams_url: &str) -> PathBuf {
    let work = lake.dir.path().join("work");
    let snapshot = work.join("inbox/snapshot=20261101T000000Z");
    std::fs::create_dir_all(&snapshot).expect("inbox");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/fixtures");
    for entry in std::fs::read_dir(fixtures.join("healthy")).expect("fixtures") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, snapshot.join(path.file_name().expect("name"))).expect("copy");
    }
    for risky in ["stale-admin.json", "guest-admin.json"] {
        std::fs::copy(fixtures.join("risky").join(risky), snapshot.join(risky)).expect("copy");
    }
    std::fs::write(work.join("slack-url"), format!("{slack_url}\n")).expect("url file");
    std::fs::write(
        work.join("pimwatch.toml"),
        format!(
            "[run]\ninbox = \"inbox\"\nlookback_days = 30\n\n\
             [[run.reports]]\nreport = \"alerts\"\nformat = \"html\"\npath = \"reports/alerts-{{run}}.html\"\n\n\
             [[run.webhooks]]\nname = \"siem\"\nkind = \"json\"\nurl_env = \"PIMWATCH_TEST_SIEM_URL\"\nmin_severity = \"medium\"\n\n\
             [[run.webhooks]]\nname = \"slack\"\nkind = \"slack\"\nurl_file = \"slack-url\"\n\n\
             [[run.webhooks]]\nname = \"teams\"\nkind = \"teams\"\nurl = \"{teams_url}\"\nmin_severity = \"low\"\nmax_per_run = 1\n"
        ),
    )
    .expect("config");
    work
}

fn run(lake: &TestLake, work: &Path, as_of: &str, siem_url: &str) -> std::process::Output {
    let config = work.join("pimwatch.toml");
    pimwatch_command(
        lake,
        &[
            "--config",
            config.to_str().expect("path"),
            "run",
            "--as-of",
            as_of,
        ],
    )
    .env("PIMWATCH_TEST_SIEM_URL", siem_url)
    .output()
    .expect("run pimwatch")
}

#[test]
fn new_alerts_reach_each_webhook_once_in_its_format() {
    let lake = TestLake::new();
    // The SIEM fails once: the first alert is retried and still delivered once.
    let siem = WebhookReceiver::start(&format!("/hooks/{TOKEN}"), vec![500]);
    let slack = WebhookReceiver::start(&format!("/services/T0/B0/{TOKEN}"), vec![]);
    let teams = WebhookReceiver::start(&format!("/workflows/{TOKEN}?sig={TOKEN}"), vec![]);
    let work = setup(&lake, &slack.url, &teams.url);

    let out = run(&lake, &work, "2026-11-01T00:00:00Z", &siem.url);
    let log = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains(" notify ok "), "{log}");

    // Generic JSON: one alert per request, the documented schema, the high and the medium.
    let siem_got = siem.delivered();
    assert_eq!(siem_got.len(), 2, "{siem_got:?}");
    assert_eq!(siem.all().len(), 3, "one retry after the 500");
    let mut rules: Vec<&str> = siem_got
        .iter()
        .map(|r| r.body["rule_id"].as_str().unwrap_or_default())
        .collect();
    rules.sort();
    assert_eq!(rules, ["privileged-account-stale", "privileged-guest"]);
    assert!(siem_got
        .iter()
        .all(|r| r.body["schema_version"] == "pimwatch.alert/1"));
    assert!(siem_got.iter().all(|r| r.path == format!("/hooks/{TOKEN}")));

    // Slack (high only by default): the guest; log text as inert code.
    let slack_got = slack.delivered();
    assert_eq!(slack_got.len(), 1);
    let slack_text = slack_got[0].body["text"].as_str().unwrap_or_default();
    assert!(slack_text.contains("privileged-guest"), "{slack_text}");
    assert!(slack_got[0].body["blocks"].is_array());

    // Teams, low and up, at most one message: one Adaptive Card summary of all of them.
    let teams_got = teams.delivered();
    assert_eq!(teams_got.len(), 1);
    let card = &teams_got[0].body["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let title = card["content"]["body"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(title.contains("alert(s) to look at"), "{title}");

    // The next run: the alerts are ongoing; nobody hears of them again.
    let out = run(&lake, &work, "2026-11-01T06:00:00Z", &siem.url);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(siem.delivered().len(), 2);
    assert_eq!(slack.delivered().len(), 1);
    assert_eq!(teams.delivered().len(), 1);

    // Repeating a run's time does not post again either.
    let out = run(&lake, &work, "2026-11-01T06:00:00Z", &siem.url);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(siem.delivered().len(), 2);

    // The token is nowhere: logs, stdout, reports, the lake.
    assert_no_token(
        &[&log, &text(&out.stdout), &text(&out.stderr)],
        &work,
        lake.lake.root(),
    );
}

#[test]
fn a_webhook_that_is_down_makes_the_run_say_so_and_the_next_run_delivers() {
    let lake = TestLake::new();
    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        format!("http://127.0.0.1:{port}/hooks/{TOKEN}")
    };
    let slack = WebhookReceiver::start(&format!("/services/{TOKEN}"), vec![]);
    let teams = WebhookReceiver::start(&format!("/teams/{TOKEN}"), vec![]);
    let work = setup(&lake, &slack.url, &teams.url);

    let out = run(&lake, &work, "2026-11-01T00:00:00Z", &closed);
    let log = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(log.contains(" notify NEEDS ATTENTION "), "{log}");
    assert!(
        log.contains("siem: 0 alert(s) in 0 message(s), 2 not delivered"),
        "{log}"
    );
    assert_no_token(&[&log, &text(&out.stdout)], &work, lake.lake.root());

    // The receiver is back: the next run delivers the (now ongoing) alerts, once.
    let siem = WebhookReceiver::start(&format!("/hooks/{TOKEN}"), vec![]);
    let out = run(&lake, &work, "2026-11-01T06:00:00Z", &siem.url);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(siem.delivered().len(), 2);
    assert_eq!(slack.delivered().len(), 1, "slack had them already");
}

fn assert_no_token(texts: &[&str], work: &Path, lake: &Path) {
    for text in texts {
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
    }
    let mut stack = vec![work.join("reports"), lake.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                assert!(
                    !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                    "the token is in {}",
                    path.display()
                );
            }
        }
    }
}
