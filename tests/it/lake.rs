//! The lake's layout: Hive partitions, atomic files, snapshots stamped with the time they
//! describe, and `lake stats` agreeing with the data.

use std::path::Path;

use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use pimwatch::ingest::IngestOptions;
use pimwatch::lake::lake_stats;

use crate::support::{s, sample, TestLake};

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn events_land_in_date_partitions_as_zstd_parquet_with_no_leftovers() {
    let lake = TestLake::new();
    lake.ingest(&[sample("otel-collector-contrib/pim-log.json")]);
    let files = files_under(lake.lake.root());
    let names: Vec<String> = files
        .iter()
        .map(|p| {
            p.strip_prefix(lake.lake.root())
                .unwrap_or(p)
                .display()
                .to_string()
        })
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("audit_events/date=2026-04-10/part-")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("audit_events/date=2026-04-11/part-")),
        "{names:?}"
    );
    assert!(
        names.contains(&"_lake/manifest.json".to_string()),
        "the commit is recorded: {names:?}"
    );
    assert!(
        names
            .iter()
            .filter(|n| !n.starts_with("_lake/"))
            .all(|n| n.ends_with(".parquet")),
        "no temporary files remain: {names:?}"
    );
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
    {
        let reader =
            SerializedFileReader::new(std::fs::File::open(path).expect("open")).expect("parquet");
        let column = reader.metadata().row_group(0).column(0);
        assert!(matches!(column.compression(), Compression::ZSTD(_)));
    }
    let rows = lake.rows("SELECT date FROM audit_events ORDER BY time");
    assert_eq!(
        s(&rows[0], "date").as_deref(),
        Some("2026-04-10"),
        "partition column is queryable"
    );
}

#[test]
fn snapshot_time_option_stamps_state_rows() {
    let lake = TestLake::new();
    let options = IngestOptions {
        snapshot_time: pimwatch::ingest::fields::parse_timestamp("2026-11-28T06:00:00Z")
            .ok()
            .flatten(),
        ..Default::default()
    };
    lake.ingest_with(
        &[sample(
            "microsoft-graph-docs/v1_users_signInActivity_example11_response.json",
        )],
        &options,
    );
    let rows = lake.rows("SELECT DISTINCT snapshot, snapshot_time FROM principals");
    assert_eq!(rows.len(), 1);
    assert_eq!(s(&rows[0], "snapshot").as_deref(), Some("20261128T060000Z"));
    assert_eq!(
        s(&rows[0], "snapshot_time").as_deref(),
        Some("2026-11-28T06:00:00Z")
    );
    // The same file as a later snapshot is new state, not a duplicate.
    let later = IngestOptions {
        snapshot_time: pimwatch::ingest::fields::parse_timestamp("2026-11-29T06:00:00Z")
            .ok()
            .flatten(),
        ..Default::default()
    };
    let report = lake.ingest_with(
        &[sample(
            "microsoft-graph-docs/v1_users_signInActivity_example11_response.json",
        )],
        &later,
    );
    assert_eq!(report.rows_added(), 2);
    assert_eq!(lake.count("principals"), 4);
}

#[test]
fn events_are_sorted_by_time_within_a_file() {
    use datafusion::arrow::array::{Array, TimestampNanosecondArray};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let lake = TestLake::new();
    lake.ingest(&[sample(
        "OTRF-Security-Datasets/empire_wmic_add_user_backdoor_security_events.jsonl",
    )]);
    // Read each file as written (a query's scan order proves nothing about the files).
    let files = lake.lake.table_files("audit_events").expect("files");
    let mut longest = 0;
    for path in &files {
        let file = std::fs::File::open(path).expect("open");
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .build()
            .expect("reader");
        let mut times = Vec::new();
        for batch in reader {
            let batch = batch.expect("batch");
            let column = batch
                .column_by_name("time")
                .and_then(|c| {
                    c.as_any()
                        .downcast_ref::<TimestampNanosecondArray>()
                        .cloned()
                })
                .expect("a time column");
            times.extend((0..column.len()).map(|i| column.value(i)));
        }
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "{} is not sorted by time",
            path.display()
        );
        longest = longest.max(times.len());
    }
    assert!(longest >= 2, "a file with several events was checked");
}

#[test]
fn stats_agree_with_the_tables_and_count_the_quarantine() {
    let lake = TestLake::new();
    lake.ingest(&[sample("")]);
    let stats = lake_stats(&lake.lake).expect("stats");
    for table in &stats.tables {
        assert_eq!(
            table.rows as i64,
            lake.count(table.table),
            "{}",
            table.table
        );
    }
    let audit = stats
        .tables
        .iter()
        .find(|t| t.table == "audit_events")
        .expect("audit_events");
    assert!(audit.files > 0 && audit.bytes > 0);
    let first = lake.rows("SELECT min(time) AS t FROM audit_events");
    let expected =
        pimwatch::ingest::fields::parse_timestamp(&s(&first[0], "t").unwrap_or_default())
            .ok()
            .flatten()
            .map(|t| t.nanos());
    assert_eq!(audit.min_time, expected);
    assert_eq!(stats.quarantine.total, lake.quarantine().len() as u64);
    assert!(stats.quarantine.total > 0);
}

#[test]
fn every_column_is_documented_in_docs_schema_md() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema.md"))
        .expect("docs/schema.md");
    for (table, schema, _) in pimwatch::model::all_tables() {
        let section = doc
            .split(&format!("\n## {table}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("docs/schema.md has no section for {table}"));
        let section = section.split("\n## ").next().unwrap_or_default();
        for field in schema.fields() {
            let name = field.name();
            let common =
                ["dedupe_key", "raw", "source_file", "ingested_at"].contains(&name.as_str());
            assert!(
                common || section.contains(&format!("| `{name}` |")),
                "docs/schema.md: {table}.{name} is not documented"
            );
        }
    }
}

#[test]
fn a_snapshot_folder_names_the_time_state_files_describe() {
    let lake = TestLake::new();
    let text = std::fs::read(sample(
        "microsoft-graph-docs/v1_users_signInActivity_example11_response.json",
    ))
    .expect("sample");
    let path = lake.write("export/snapshot=20250101T063000Z/users.json", text);
    lake.ingest(&[path]);
    let rows = lake.rows("SELECT DISTINCT snapshot_time FROM principals");
    assert_eq!(
        s(&rows[0], "snapshot_time").as_deref(),
        Some("2025-01-01T06:30:00Z"),
        "not the file's mtime"
    );
}
