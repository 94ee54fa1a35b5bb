//! Alerts through the output registry: the same canonical alert table in every format, the
//! ranked view for people, every field for programs.

use crate::support::{pimwatch, text, TestLake};

/// A lake with the rule fixtures' healthy tenant and one stale admin (two alerts as of
/// 2026-11-01).
fn fixture_lake() -> TestLake {
    let lake = TestLake::new();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/fixtures");
    let report = lake.ingest_at(
        &[rules.join("healthy"), rules.join("risky/stale-admin.json")],
        "2026-11-01T00:00:00Z",
    );
    assert_eq!(report.quarantined(), 0);
    lake
}

fn detect(lake: &TestLake, format: &str) -> String {
    let out = pimwatch(
        lake,
        &[
            "detect",
            "--as-of",
            "2026-11-01T00:00:00Z",
            "--lookback",
            "30",
            "--no-store",
            "--format",
            format,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{format}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn alerts_render_through_every_emitter() {
    let lake = fixture_lake();
    insta::assert_snapshot!("alerts_table", detect(&lake, "table"));
    insta::assert_snapshot!("alerts_md", detect(&lake, "md"));
    insta::assert_snapshot!("alerts_csv", detect(&lake, "csv"));
    insta::assert_snapshot!("alerts_ndjson", detect(&lake, "ndjson"));

    // JSON: the documented alert schema, evidence an object and lists arrays, nulls kept.
    let alerts: Vec<serde_json::Value> =
        serde_json::from_str(&detect(&lake, "json")).expect("a JSON array");
    assert_eq!(alerts.len(), 2);
    let fields: Vec<&str> = alerts[0]
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "schema_version",
            "alert_id",
            "rule_id",
            "title",
            "severity",
            "score",
            "score_reasons",
            "entity_type",
            "entity_id",
            "entity_name",
            "summary",
            "first_seen",
            "last_seen",
            "event_count",
            "evidence",
            "mitre",
            "remediation",
            "status",
            "suppression",
            "triage",
            "run_id",
            "as_of"
        ]
    );
    assert!(alerts[0]["evidence"].is_object());
    assert!(alerts[0]["score_reasons"].is_array());
    assert!(alerts[0]["suppression"].is_null());
}

/// A guest whose display name is an attack on every output at once: markup, a spreadsheet
/// formula, a terminal escape and a line break.
const HOSTILE_NAME: &str = "=cmd|' /C calc'!A0<script>alert(1)</script>\u{1b}[31m\nEve";
const HOSTILE_ID: &str = "a0000000-0000-4000-8000-0000000000ff";

/// The fixture lake plus the hostile guest holding Global Reader, stored as one run.
fn hostile_lake() -> TestLake {
    let lake = TestLake::new();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/fixtures");
    let users = serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
        "value": [{
            "id": HOSTILE_ID,
            "displayName": HOSTILE_NAME,
            "userPrincipalName": "eve_evil.example#EXT#@contoso.onmicrosoft.com",
            "userType": "Guest",
            "accountEnabled": true,
            "createdDateTime": "2026-01-01T00:00:00Z",
            "signInActivity": {"lastSuccessfulSignInDateTime": "2026-10-30T00:00:00Z"}
        }]
    });
    let eligibility = serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleEligibilityScheduleInstances",
        "value": [{
            "id": "b0000000-0000-4000-8000-0000000000ff-1-e",
            "principalId": HOSTILE_ID,
            "roleDefinitionId": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
            "directoryScopeId": "/",
            "startDateTime": "2026-10-01T00:00:00Z",
            "endDateTime": "2027-10-01T00:00:00Z",
            "memberType": "Direct",
            "roleEligibilityScheduleId": "b0000000-0000-4000-8000-0000000000ff"
        }]
    });
    let report = lake.ingest_at(
        &[
            rules.join("healthy"),
            rules.join("risky/stale-admin.json"),
            lake.write("hostile-users.json", users.to_string()),
            lake.write("hostile-eligibility.json", eligibility.to_string()),
        ],
        "2026-11-01T00:00:00Z",
    );
    assert_eq!(report.quarantined(), 0);
    let out = pimwatch(
        &lake,
        &[
            "detect",
            "--as-of",
            "2026-11-01T00:00:00Z",
            "--lookback",
            "30",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    lake
}

fn report_alerts(lake: &TestLake, format: &str) -> String {
    let out = pimwatch(lake, &["report", "alerts", "--format", format]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{format}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The HTML with what changes from file to file (the nonce, the time it was made) fixed.
fn stable_html(html: &str) -> String {
    let nonce = regex::Regex::new("[0-9a-f]{32}").expect("regex");
    let generated = regex::Regex::new(r"generated \d{4}-\d\d-\d\dT[0-9:.]+Z").expect("regex");
    let html = nonce.replace_all(html, "NONCE");
    generated.replace_all(&html, "generated NOW").into_owned()
}

#[test]
fn alert_reports_render_every_format_over_the_same_alerts() {
    let lake = hostile_lake();
    insta::assert_snapshot!("report_alerts_table", report_alerts(&lake, "table"));
    insta::assert_snapshot!("report_alerts_md", report_alerts(&lake, "md"));
    insta::assert_snapshot!("report_alerts_csv", report_alerts(&lake, "csv"));
    insta::assert_snapshot!("report_alerts_ndjson", report_alerts(&lake, "ndjson"));
    insta::assert_snapshot!("report_alerts_ocsf", report_alerts(&lake, "ocsf"));
    insta::assert_snapshot!(
        "report_alerts_html",
        stable_html(&report_alerts(&lake, "html"))
    );
}

#[test]
fn hostile_display_names_are_inert_in_every_format() {
    let lake = hostile_lake();
    let html = report_alerts(&lake, "html");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped in HTML"
    );
    assert!(!html.contains("<script>alert"), "no live script");
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the report's own script"
    );
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    assert!(!html.contains('\u{1b}'));

    let csv = report_alerts(&lake, "csv");
    assert!(csv.contains("'=cmd|"), "{csv}");
    for field in csv_fields(&csv) {
        let formula = matches!(field.chars().next(), Some('=' | '@' | '\t' | '\r'))
            || (field.starts_with(['+', '-']) && field.parse::<f64>().is_err());
        assert!(!formula, "a formula reached the CSV: {field:?}");
    }

    let table = report_alerts(&lake, "table");
    assert!(
        !table.contains('\u{1b}'),
        "no escape sequence on the terminal"
    );
    assert!(
        table
            .lines()
            .all(|l| !l.contains("Eve") || l.starts_with('|')),
        "{table}"
    );
    let md = report_alerts(&lake, "md");
    assert!(
        md.contains("&lt;script&gt;") && !md.contains("<script>"),
        "{md}"
    );
    let ocsf = report_alerts(&lake, "ocsf");
    assert!(ocsf
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
}

fn csv_fields(csv: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes());
    reader
        .records()
        .filter_map(Result::ok)
        .flat_map(|r| r.iter().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// OCSF 1.3 Detection Finding (class 2004): the attributes the schema requires of the class
/// (from its base event and the finding category) and of the objects we fill, in
/// tests/data/ocsf/detection_finding_required.json (taken from ocsf/ocsf-schema).
#[test]
fn ocsf_findings_carry_every_required_field() {
    let required: serde_json::Value = serde_json::from_slice(
        &std::fs::read(crate::support::data("ocsf/detection_finding_required.json"))
            .expect("required fields"),
    )
    .expect("json");
    let lake = hostile_lake();
    let lines = report_alerts(&lake, "ocsf");
    let findings: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("a finding"))
        .collect();
    assert_eq!(findings.len(), 4);
    for finding in &findings {
        for (path, fields) in required["required"].as_object().expect("object") {
            let object = if path == "." {
                finding
            } else {
                path.split('.').fold(finding, |v, key| &v[key])
            };
            for field in fields.as_array().expect("array") {
                let field = field.as_str().expect("name");
                assert!(
                    !object[field].is_null(),
                    "{path}.{field} missing in {finding}"
                );
            }
        }
        assert_eq!(finding["class_uid"], 2004);
        assert_eq!(finding["category_uid"], 2);
        let activity = finding["activity_id"].as_u64().expect("activity");
        assert_eq!(finding["type_uid"], 200400 + activity);
        assert!((1..=5).contains(&finding["severity_id"].as_u64().expect("severity")));
        assert!(finding["time"].as_i64().expect("time") > 1_700_000_000_000);
    }
    let guest = findings
        .iter()
        .find(|f| f["resources"][0]["uid"] == HOSTILE_ID)
        .expect("the hostile guest's finding");
    assert_eq!(guest["resources"][0]["name"], HOSTILE_NAME);
    assert_eq!(guest["finding_info"]["analytic"]["uid"], "privileged-guest");
}

/// The HTML report in a real browser (Debian's chromium, headless): the script runs under
/// the CSP, the table and chart render, nothing is fetched, nothing reaches the console, and
/// the hostile display name is text. `.ci/run` installs chromium and sets
/// PIMWATCH_REQUIRE_BROWSER=1, so the test cannot pass there without a browser.
#[test]
fn html_report_renders_in_headless_chromium_with_no_errors_or_requests() {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(browser) = browser else {
        assert!(
            std::env::var_os("PIMWATCH_REQUIRE_BROWSER").is_none(),
            "PIMWATCH_REQUIRE_BROWSER is set but no chromium is installed"
        );
        eprintln!("skipped: no chromium on this machine (CI installs it)");
        return;
    };
    let lake = hostile_lake();
    let page = lake.dir.path().join("report.html");
    let out = pimwatch(
        &lake,
        &[
            "report",
            "alerts",
            "--format",
            "html",
            "--output",
            page.to_str().expect("path"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let profile = lake.dir.path().join("chromium-profile");
    let run = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Any request at all would fail and be logged: the page must make none.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let dom = text(&run.stdout);
    let log = text(&run.stderr);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(!log.contains("net::ERR"), "a request was made: {log}");
    assert!(
        dom.contains("data-ready=\"true\""),
        "the report's script did not run"
    );
    assert_eq!(
        dom.matches("<tr data-severity").count(),
        4,
        "four alert rows"
    );
    assert!(dom.contains("<svg id=\"chart\""), "the chart");
    assert!(dom.matches("<rect").count() >= 1, "the chart has bars");
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the name is text"
    );
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "no injected script element"
    );
}

/// The files of an XLSX workbook (a zip of XML parts), by name.
pub fn xlsx_parts(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an xlsx is a zip");
    let mut parts = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("a part");
        let name = file.name().expect("a part name").to_string();
        let mut text = String::new();
        if file.read_to_string(&mut text).is_ok() {
            parts.insert(name, text);
        }
    }
    parts
}

/// The sheet names of a workbook, in order.
pub fn sheet_names(parts: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let workbook = &parts["xl/workbook.xml"];
    workbook
        .split("<sheet name=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn xlsx_alerts_have_a_summary_and_a_sheet_per_severity_and_no_formulas() {
    let lake = hostile_lake();
    let path = lake.dir.path().join("alerts.xlsx");
    let out = pimwatch(
        &lake,
        &[
            "report",
            "alerts",
            "--format",
            "xlsx",
            "--output",
            path.to_str().expect("path"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let parts = xlsx_parts(&std::fs::read(&path).expect("the workbook"));
    assert_eq!(sheet_names(&parts), ["Summary", "High", "Medium", "Low"]);
    let strings = &parts["xl/sharedStrings.xml"];
    assert!(
        strings.contains("&apos;=cmd|") || strings.contains("'=cmd|"),
        "neutralized"
    );
    assert!(
        !strings.contains(">=cmd|"),
        "a formula-like cell reached the sheet"
    );
    for (name, part) in &parts {
        if name.starts_with("xl/worksheets/") {
            assert!(!part.contains("<f>"), "{name} holds a formula");
            if name != "xl/worksheets/sheet1.xml" {
                assert!(
                    part.contains("state=\"frozen\""),
                    "{name}: header not frozen"
                );
                assert!(part.contains("<autoFilter"), "{name}: no filter");
            }
        }
    }
    // The alert sheets hold every alert once: 1 high, 1 medium, 2 low.
    let rows = |sheet: &str| parts[sheet].matches("<row ").count() - 1;
    assert_eq!(
        (
            rows("xl/worksheets/sheet2.xml"),
            rows("xl/worksheets/sheet3.xml"),
            rows("xl/worksheets/sheet4.xml")
        ),
        (1, 1, 2)
    );
}

#[test]
fn the_access_review_renders_hostile_names_inertly_in_every_format() {
    let lake = hostile_lake();
    let review = |format: &str| {
        let out = pimwatch(
            &lake,
            &[
                "report",
                "access-review",
                "--as-of",
                "2026-11-01T00:00:00Z",
                "--format",
                format,
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    };
    let md = review("md");
    insta::assert_snapshot!("access_review_md", md);
    assert!(!md.contains("<script>"));
    let html = review("html");
    assert!(html.contains("&lt;script&gt;alert(1)") && !html.contains("<script>alert"));
    assert!(html.contains("Content-Security-Policy"));
    let csv = review("csv");
    assert!(csv.contains("'=cmd|"), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&review("json")).expect("json");
    let guest = json["holdings"]
        .as_array()
        .expect("holdings")
        .iter()
        .find(|h| h["principal_id"] == HOSTILE_ID)
        .expect("the hostile guest's holding");
    assert_eq!(guest["principal"], HOSTILE_NAME);
    // Eligible for a month and never activated: remove; being a guest is said too.
    assert_eq!(guest["recommendation"], "remove");
    let reasons = guest["reasons"].as_str().unwrap_or_default();
    assert!(
        reasons.starts_with("no activation in the 31 days"),
        "{reasons}"
    );
    assert!(
        reasons.contains("guest holding a privileged role"),
        "{reasons}"
    );
}
