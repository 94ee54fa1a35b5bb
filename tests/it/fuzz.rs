//! Seeded, structure-aware mutation of real-shaped inputs: every reader (JSON lines, JSON
//! documents, CSV/TSV, gzip, the text decoders) and then the whole ingest path must take
//! whatever comes without a panic, and say what happened to every document.
//!
//! `cargo test` runs a few thousand mutations (a few seconds); `PIMWATCH_FUZZ_ITERATIONS=N`
//! runs N, and `PIMWATCH_FUZZ_SEED=S` another sequence. An input that breaks a reader is
//! written out with its seed: keep it in `tests/data/fuzz/` (read by the regression test
//! below) and fix the reader.

use std::io::{Cursor, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use pimwatch::ingest::source::{read_document, BadRecord, RecordSink, SourceRecord};
use serde_json::Value;

use crate::support::{data, TestLake};

/// xorshift64*: small, fast, the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Real-shaped files from the test data: the seeds.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![data("formats"), data("samples"), data("real-shapes")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                let is_input = ["json", "jsonl", "ndjson", "csv", "tsv", "gz"]
                    .iter()
                    .any(|e| path.extension().is_some_and(|x| x == *e));
                if is_input && bytes.len() < 200_000 {
                    found.push((name.unwrap_or_default(), bytes));
                }
            }
        }
    }
    found.sort();
    found
}

const NASTY: &[&[u8]] = &[
    b"\0",
    b"\xff\xfe",
    b"\xe9",
    b"\xed\xa0\x80",
    b"\"",
    b"\\",
    b"\n",
    b"\r\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\\ud800",
    b"1e999999",
    b"-0",
    b"null",
    b"\x1b[2J",
    b"\t",
    b"0001-01-01T00:00:00Z",
    b"9999-12-31T23:59:59Z",
    b"=cmd|' /C calc'!A0",
];

/// A value of another kind, or an extreme of the same.
fn odd_value(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(2)),
        2 => serde_json::json!(i64::MIN),
        3 => serde_json::json!(1e300),
        4 => Value::String(String::new()),
        5 => Value::String("x".repeat(rng.below(100_000))),
        6 => Value::String("not a time \u{202e} \u{1b}]0;t\u{7}".into()),
        7 => serde_json::from_str(&format!("{}{}", "[".repeat(100), "]".repeat(100)))
            .unwrap_or(Value::Null),
        _ => serde_json::json!({"@odata.type": "#microsoft.graph.user", "id": ""}),
    }
}

/// Changes one value somewhere in a JSON tree.
fn mutate_value(value: &mut Value, rng: &mut Rng, depth: usize) {
    match value {
        Value::Object(map) if !map.is_empty() && depth < 12 => {
            let key = map
                .keys()
                .nth(rng.below(map.len()))
                .cloned()
                .unwrap_or_default();
            match rng.below(6) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(key, odd_value(rng));
                }
                _ => {
                    if let Some(inner) = map.get_mut(&key) {
                        mutate_value(inner, rng, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() && depth < 12 => {
            let at = rng.below(items.len());
            match rng.below(5) {
                0 => {
                    items.remove(at);
                }
                1 => {
                    let copy = items[at].clone();
                    items.insert(at, copy);
                }
                _ => mutate_value(&mut items[at], rng, depth + 1),
            }
        }
        other => *other = odd_value(rng),
    }
}

/// One mutation of `seed`: structural when it is JSON, byte-level otherwise or as well.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    if rng.chance(2) {
        if let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) {
            for _ in 0..=rng.below(4) {
                mutate_value(&mut value, rng, 0);
            }
            bytes = if rng.chance(2) {
                serde_json::to_vec_pretty(&value).unwrap_or_default()
            } else {
                serde_json::to_vec(&value).unwrap_or_default()
            };
        }
    }
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 => bytes.truncate(at),
            1 => {
                let nasty = NASTY[rng.below(NASTY.len())];
                bytes.splice(at..at, nasty.iter().copied());
            }
            2 if at < bytes.len() => bytes[at] = rng.next() as u8,
            3 => {
                let end = (at + rng.below(200)).min(bytes.len());
                let slice = bytes[at..end].to_vec();
                bytes.splice(at..at, slice);
            }
            4 => {
                let end = (at + rng.below(50)).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {}
        }
    }
    if rng.chance(8) {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = encoder.write_all(&bytes);
        bytes = encoder.finish().unwrap_or_default();
        if rng.chance(2) && !bytes.is_empty() {
            let at = rng.below(bytes.len());
            bytes.truncate(at.max(10));
        }
    }
    bytes
}

#[derive(Default)]
struct Count {
    good: u64,
    bad: u64,
}

impl RecordSink for Count {
    fn record(&mut self, _: SourceRecord) {
        self.good += 1;
    }
    fn bad_record(&mut self, bad: BadRecord) {
        assert!(!bad.reason.is_empty(), "a bad record says why");
        self.bad += 1;
    }
}

fn iterations() -> usize {
    std::env::var("PIMWATCH_FUZZ_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000)
}

fn fuzz_seed() -> u64 {
    std::env::var("PIMWATCH_FUZZ_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15)
}

/// Keeps an input that broke a reader where a person can pick it up.
fn keep_crash(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("pimwatch-fuzz-crash-{name}"));
    let _ = std::fs::write(&path, bytes);
    path
}

#[test]
fn mutated_real_shapes_never_break_a_reader_or_the_ingest() {
    let seeds = seeds();
    assert!(seeds.len() >= 20, "{} seeds", seeds.len());
    let mut rng = Rng(fuzz_seed());
    let lake = TestLake::new();
    let batch_dir = lake.dir.path().join("mutations");
    std::fs::create_dir_all(&batch_dir).expect("mkdir");
    let (mut records, mut bad) = (0u64, 0u64);
    let total = iterations();
    for i in 0..total {
        let (name, seed) = &seeds[rng.below(seeds.len())];
        let input = mutate(seed, &mut rng);
        // The readers alone, on every mutation.
        let mut count = Count::default();
        let read = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let _ = read_document(Cursor::new(&input), &mut count);
        }));
        if read.is_err() {
            let kept = keep_crash(&format!("{i}-{name}"), &input);
            panic!(
                "a reader panicked on mutation {i} of {name}: input kept in {}",
                kept.display()
            );
        }
        records += count.good;
        bad += count.bad;
        // The whole path (detect, normalize, dedupe, write), on one in ten.
        if i % 10 == 0 {
            let extension = Path::new(name)
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_else(|| "json".into());
            std::fs::write(batch_dir.join(format!("{i:05}.{extension}")), &input).expect("write");
        }
    }
    let report = lake.ingest(&[batch_dir]);
    for file in &report.files {
        assert!(
            !file
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("internal error"),
            "{}: {:?}",
            file.name,
            file.error
        );
        assert!(file.records >= file.quarantined, "{file:?}");
    }
    println!(
        "fuzz: {total} mutations, {records} records read, {bad} bad records, {} files through ingest ({} rows, {} quarantined)",
        report.files.len(),
        report.rows_added(),
        report.quarantined()
    );
}

#[test]
fn inputs_that_once_broke_a_reader_stay_fixed() {
    let dir = data("fuzz");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/fuzz")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty());
    for input in &inputs {
        let bytes = std::fs::read(input).expect("read");
        let mut count = Count::default();
        let _ = read_document(Cursor::new(&bytes), &mut count);
    }
    let lake = TestLake::new();
    let report = lake.ingest(&inputs);
    assert!(report.files.iter().all(|f| !f
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("internal error")));
}
