//! The pipeline's two heavy stages, `cargo bench --bench pipeline`:
//!
//! - `ingest`: throughput on a generated corpus of Graph directory-audit and sign-in pages
//!   (1,000 records a page, as Graph returns them) and Event Hub `PT1H.json` blobs; reports
//!   MB/s (criterion's byte throughput) and prints events/s.
//! - `detect`: every rule of the built-in pack, views included, on a generated tenant
//!   (2,000 people, 30 days) ingested once.
//!
//! `benches/peer/duckdb_detect.py` runs the same rule SQL on the same lake in DuckDB and
//! compares time and findings with `pimwatch detect`.
//!
//! To measure peak memory of the real binary on a corpus or tenant of any size:
//!
//! ```sh
//! PIMWATCH_BENCH_GENERATE=/tmp/corpus:200000 cargo bench --bench pipeline
//! /usr/bin/time -v target/release/pimwatch --lake /tmp/lake ingest /tmp/corpus
//! target/release/pimwatch generate --out /tmp/tenant --users 50000 --days 90
//! /usr/bin/time -v target/release/pimwatch --lake /tmp/tenant-lake ingest /tmp/tenant/logs
//! /usr/bin/time -v target/release/pimwatch --lake /tmp/tenant-lake detect --as-of 2026-12-30T00:00:00Z --lookback 91
//! ```

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, Criterion, Throughput};
use pimwatch::generate::rng::Rng;
use pimwatch::ingest::{ingest_paths, IngestOptions, NoProgress};
use pimwatch::lake::Lake;

/// The same allocator as the binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROLES: &[(&str, &str)] = &[
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
];

fn timestamp(i: u64) -> String {
    let seconds = 1_795_000_000 + i * 7;
    // Graph writes 7 fractional digits (100 ns ticks).
    let ticks = (i % 10_000_000) as u32;
    chrono::DateTime::from_timestamp(seconds as i64, 0)
        .map(|t| format!("{}.{ticks:07}Z", t.format("%Y-%m-%dT%H:%M:%S")))
        .unwrap_or_default()
}

fn audit(rng: &mut Rng, i: u64) -> String {
    let (role_id, role_name) = ROLES[rng.below(ROLES.len() as u64) as usize];
    let (user, request, corr) = (rng.guid(), rng.guid(), rng.guid());
    let time = timestamp(i);
    match i % 3 {
        0 => format!(
            r#"{{"id":"PIM_{corr}_{request}_{i}","category":"RoleManagement","correlationId":"{corr}","result":"success","resultReason":"Ticket INC{i}","activityDisplayName":"Add member to role completed (PIM activation)","activityDateTime":"{time}","loggedByService":"PIM","operationType":"Update","initiatedBy":{{"user":{{"id":"{user}","displayName":"User {i}","userPrincipalName":"user{i}@contoso.com","ipAddress":"10.0.{}.{}"}},"app":null}},"targetResources":[{{"id":"{role_id}","displayName":"{role_name}","type":"Role","modifiedProperties":[{{"displayName":"RoleDefinitionOriginId","oldValue":"\"\"","newValue":"\"{role_id}\""}},{{"displayName":"TemplateId","oldValue":"\"\"","newValue":"\"{role_id}\""}}]}},{{"id":"{request}","type":"Request","modifiedProperties":[]}},{{"id":"{user}","displayName":"User {i}","type":"User","userPrincipalName":"user{i}@contoso.com","modifiedProperties":[]}},{{"id":"tenant","displayName":"Contoso","type":"Directory","modifiedProperties":[]}}],"additionalDetails":[{{"key":"RoleDefinitionOriginId","value":"{role_id}"}},{{"key":"TemplateId","value":"{role_id}"}},{{"key":"StartTime","value":"{time}"}},{{"key":"ExpirationTime","value":"{time}"}},{{"key":"Justification","value":"Ticket INC{i}"}},{{"key":"RoleAssignmentRequestId","value":"{request}"}},{{"key":"ipaddr","value":"10.0.0.1"}}]}}"#,
            rng.below(255),
            rng.below(255)
        ),
        1 => format!(
            r#"{{"id":"Directory_{corr}_ABCDE_{i}","category":"RoleManagement","correlationId":"{corr}","result":"success","resultReason":"","activityDisplayName":"Add member to role","activityDateTime":"{time}","loggedByService":"Core Directory","operationType":"Assign","initiatedBy":{{"user":null,"app":{{"appId":null,"displayName":"MS-PIM","servicePrincipalId":"bdefcbb6-d8b2-497d-a944-b683d9a36b0c","servicePrincipalName":null}}}},"targetResources":[{{"id":"{user}","type":"User","userPrincipalName":"user{i}@contoso.com","modifiedProperties":[{{"displayName":"Role.ObjectID","oldValue":null,"newValue":"\"{corr}\""}},{{"displayName":"Role.DisplayName","oldValue":null,"newValue":"\"{role_name}\""}},{{"displayName":"Role.TemplateId","oldValue":null,"newValue":"\"{role_id}\""}}]}}],"additionalDetails":[]}}"#
        ),
        _ => format!(
            r#"{{"id":"Directory_{corr}_XYZ12_{i}","category":"UserManagement","correlationId":"{corr}","result":"success","resultReason":"","activityDisplayName":"Update user","activityDateTime":"{time}","loggedByService":"Core Directory","operationType":"Update","initiatedBy":{{"user":{{"id":"{user}","displayName":null,"userPrincipalName":"admin@contoso.com","ipAddress":"10.1.1.1"}}}},"targetResources":[{{"id":"{request}","displayName":null,"type":"User","userPrincipalName":"user{i}@contoso.com","modifiedProperties":[{{"displayName":"StsRefreshTokensValidFrom","oldValue":"[\"2026-01-01T00:00:00Z\"]","newValue":"[\"{time}\"]"}},{{"displayName":"Included Updated Properties","oldValue":null,"newValue":"\"StsRefreshTokensValidFrom\""}}]}}],"additionalDetails":[{{"key":"UserType","value":"Member"}}]}}"#
        ),
    }
}

fn sign_in(rng: &mut Rng, i: u64) -> String {
    let (id, user, corr) = (rng.guid(), rng.guid(), rng.guid());
    let time = timestamp(i);
    let (requirement, method, code) = match rng.below(4) {
        0 => ("singleFactorAuthentication", "Password", 0),
        1 => ("singleFactorAuthentication", "Password", 50126),
        _ => ("multiFactorAuthentication", "Microsoft Authenticator", 0),
    };
    format!(
        r#"{{"id":"{id}","createdDateTime":"{time}","userDisplayName":"User {i}","userPrincipalName":"user{i}@contoso.com","userId":"{user}","appId":"c44b4083-3bb0-49c1-b47d-974e53cbdf3c","appDisplayName":"Azure Portal","ipAddress":"131.107.{}.{}","clientAppUsed":"Browser","correlationId":"{corr}","conditionalAccessStatus":"success","isInteractive":true,"riskDetail":"none","riskLevelAggregated":"none","riskLevelDuringSignIn":"none","riskState":"none","resourceDisplayName":"Windows Azure Service Management API","resourceId":"797f4846-ba00-4fd7-ba43-dac1f8f63013","authenticationRequirement":"{requirement}","userType":"member","status":{{"errorCode":{code},"failureReason":"Other."}},"deviceDetail":{{"deviceId":"","displayName":"","operatingSystem":"Windows 10","browser":"Edge 91.0.864","isCompliant":false,"isManaged":false,"trustType":""}},"location":{{"city":"Redmond","state":"Washington","countryOrRegion":"US","geoCoordinates":{{"altitude":null,"latitude":47.68,"longitude":-122.12}}}},"authenticationDetails":[{{"authenticationStepDateTime":"{time}","authenticationMethod":"Password","authenticationMethodDetail":"Password in the cloud","succeeded":true,"authenticationStepResultDetail":"Correct password","authenticationStepRequirement":"Primary authentication"}},{{"authenticationStepDateTime":"{time}","authenticationMethod":"{method}","succeeded":true,"authenticationStepResultDetail":"MFA successfully completed","authenticationStepRequirement":"Secondary authentication"}}]}}"#,
        rng.below(255),
        rng.below(255)
    )
}

/// Writes `events` records (half audits, half sign-ins) and returns the bytes written.
fn generate(dir: &Path, events: u64) -> u64 {
    fs::create_dir_all(dir).expect("corpus folder");
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut bytes = 0;
    let page_size = 1000;
    let mut i = 0;
    let mut page_number = 0;
    while i < events {
        let n = page_size.min(events - i);
        let is_audit = page_number % 2 == 0;
        let mut page = String::new();
        if page_number % 4 == 3 {
            // Event Hub storage blob: one envelope record per line.
            for k in 0..n {
                let record = sign_in(&mut rng, i + k);
                let _ = writeln!(
                    page,
                    r#"{{"time":"{}","resourceId":"/tenants/t/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"SignInLogs","tenantId":"t","resultType":"0","Level":4,"properties":{record}}}"#,
                    timestamp(i + k)
                );
            }
            bytes += write(&dir.join(format!("PT1H-{page_number:05}.json")), &page);
        } else {
            let context = if is_audit {
                "auditLogs/directoryAudits"
            } else {
                "auditLogs/signIns"
            };
            let _ = write!(
                page,
                r#"{{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#{context}","value":["#
            );
            for k in 0..n {
                if k > 0 {
                    page.push(',');
                }
                page.push_str(&if is_audit {
                    audit(&mut rng, i + k)
                } else {
                    sign_in(&mut rng, i + k)
                });
            }
            let _ = write!(
                page,
                r#"],"@odata.nextLink":"https://graph.microsoft.com/v1.0/next?$skiptoken={page_number}"}}"#
            );
            bytes += write(&dir.join(format!("page-{page_number:05}.json")), &page);
        }
        i += n;
        page_number += 1;
    }
    bytes
}

fn write(path: &Path, text: &str) -> u64 {
    fs::write(path, text).expect("write corpus");
    text.len() as u64
}

fn ingest_once(corpus: &Path, lake_dir: &Path) -> u64 {
    let _ = fs::remove_dir_all(lake_dir);
    let lake = Lake::new(lake_dir);
    let report = ingest_paths(
        &lake,
        &[corpus.to_path_buf()],
        &IngestOptions::default(),
        &mut NoProgress,
    )
    .expect("ingest");
    assert_eq!(report.quarantined(), 0);
    report.rows_added()
}

fn bench_ingest(c: &mut Criterion) {
    const EVENTS: u64 = 40_000;
    let work = tempfile::tempdir().expect("temp dir");
    let corpus = work.path().join("corpus");
    let bytes = generate(&corpus, EVENTS);
    let lake_dir = work.path().join("lake");

    let started = std::time::Instant::now();
    let rows = ingest_once(&corpus, &lake_dir);
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(rows, EVENTS);
    println!(
        "ingest: {EVENTS} events, {:.1} MB in {seconds:.2} s = {:.0} events/s, {:.1} MB/s (single warm-up run)",
        bytes as f64 / 1e6,
        EVENTS as f64 / seconds,
        bytes as f64 / 1e6 / seconds
    );

    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("graph_pages_and_blobs_40k_events", |b| {
        b.iter(|| ingest_once(&corpus, &lake_dir));
    });
    group.finish();
}

fn bench_detect(c: &mut Criterion) {
    use pimwatch::generate::{channels::Channel, generate, GenerateOptions};
    use pimwatch::model::Instant;
    use pimwatch::rules::RuleSet;
    use pimwatch::workspace::{DetectRequest, Workspace};

    let work = tempfile::tempdir().expect("temp dir");
    let tenant = work.path().join("tenant");
    let options = GenerateOptions {
        out: tenant.clone(),
        users: 2000,
        days: 30,
        seed: 1,
        channel: Channel::Graph,
        start: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("a date"),
        gzip: false,
        scenarios: None,
        policies: Default::default(),
        policies_shape: Default::default(),
        force: false,
    };
    let manifest = generate(&options).expect("generate");
    let lake = Lake::new(work.path().join("lake"));
    let report = ingest_paths(
        &lake,
        &[tenant.join("logs")],
        &IngestOptions::default(),
        &mut NoProgress,
    )
    .expect("ingest");
    let workspace = Workspace::new(
        lake,
        RuleSet::embedded().expect("rule pack"),
        Default::default(),
    );
    let request = DetectRequest {
        as_of: Instant::parse(&manifest.snapshot_time).expect("snapshot time"),
        lookback_days: Some(31),
        store: false,
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let detect_once = || {
        runtime.block_on(async {
            let run = workspace.detect(&request).await.expect("detect");
            assert!(run.failures.is_empty(), "{:?}", run.failures);
            run.alerts.len()
        })
    };
    let findings = detect_once();
    assert_eq!(
        findings, manifest.truth,
        "the pack finds the planted scenarios"
    );
    println!(
        "detect: {} rules over {} rows ({} records generated), {findings} findings",
        workspace.rules.rules.len(),
        report.rows_added(),
        manifest.files.iter().map(|(_, n)| n).sum::<u64>()
    );

    let mut group = c.benchmark_group("detect");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("all_rules_2000_users_30_days", |b| {
        b.iter(detect_once);
    });
    group.finish();
}

criterion_group!(benches, bench_ingest, bench_detect);

fn main() {
    if let Ok(spec) = std::env::var("PIMWATCH_BENCH_GENERATE") {
        let (dir, events) = spec.split_once(':').unwrap_or((spec.as_str(), "100000"));
        let events: u64 = events.parse().unwrap_or(100_000);
        let bytes = generate(Path::new(dir), events);
        println!("generated {events} events, {bytes} bytes in {dir}");
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
