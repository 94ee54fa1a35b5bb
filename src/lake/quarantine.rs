//! Quarantine: records that could not be read or normalized, kept with their file, place and
//! reason so that nothing is silently dropped.
//!
//! One file per input, `_quarantine/<name>-<hash>.ndjson`, holding its first
//! [`KEPT_PER_INPUT`] bad records; `_quarantine/index.json` counts them all. Re-ingesting the
//! same input adds nothing (a record is known by its place in the input), so the quarantine
//! does not grow with every retry, and a file of a million bad lines keeps a thousand and a
//! count. Written under the writer lock: a new or grown file replaces the old one atomically.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{io_error, Lake, LakeError};

/// Bad records kept per input; the rest are counted.
pub const KEPT_PER_INPUT: u64 = 1000;
const INDEX: &str = "index.json";

/// One quarantined record. The JSON Lines schema of quarantine files:
/// `{"file", "line"?, "record_number"?, "kind"?, "reason", "record"}` where `record` is the
/// parsed record when it was valid JSON, else its text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuarantineEntry {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_number: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub reason: String,
    pub record: Value,
}

impl QuarantineEntry {
    /// What identifies the record within its input: its place, else (for a whole-document
    /// problem) its reason.
    fn identity(&self) -> String {
        match (self.line, self.record_number) {
            (None, None) => format!("reason:{}", self.reason),
            (line, record) => format!("{line:?}/{record:?}"),
        }
    }
}

/// What the index says about one input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedInput {
    /// The quarantine file, relative to `_quarantine/`.
    pub file: String,
    /// Records kept in it.
    pub kept: u64,
    /// Bad records the input held when it was last read (kept or not).
    pub total: u64,
}

type Index = BTreeMap<String, QuarantinedInput>;

fn load_index(dir: &Path) -> Result<Index, LakeError> {
    let path = dir.join(INDEX);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LakeError::Damaged {
            path,
            reason: format!("the quarantine index cannot be read ({e})"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::new()),
        Err(e) => Err(io_error(&path)(e)),
    }
}

fn replace_file(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<PathBuf, LakeError> {
    let target = dir.join(name);
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = File::create(&temp)
        .and_then(|file| {
            let mut writer = BufWriter::new(file);
            write(&mut writer)?;
            writer.into_inner().map_err(|e| e.into_error())?.sync_all()
        })
        .map_err(io_error(&temp))
        .and_then(|()| fs::rename(&temp, &target).map_err(io_error(&target)));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map(|()| target)
}

/// The quarantine of one input during an ingest.
pub struct Quarantine {
    dir: PathBuf,
    input: String,
    name: String,
    /// Entries kept before this ingest, and the identities of all kept entries.
    kept: Vec<String>,
    known: HashSet<String>,
    /// New entries to keep.
    added: Vec<String>,
    /// Bad records met in this reading of the input, known or not.
    seen: u64,
}

impl Quarantine {
    /// The quarantine of `input` (a file path or a URL), with what earlier ingests of it kept.
    pub fn new(lake: &Lake, input: &str) -> Result<Self, LakeError> {
        let dir = lake.quarantine_dir();
        let name = file_name(input);
        let mut kept = Vec::new();
        let mut known = HashSet::new();
        let path = dir.join(&name);
        match File::open(&path) {
            Ok(file) => {
                for line in BufReader::new(file).lines() {
                    let line = line.map_err(io_error(&path))?;
                    if let Ok(entry) = serde_json::from_str::<QuarantineEntry>(&line) {
                        known.insert(entry.identity());
                    }
                    kept.push(line);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path)(e)),
        }
        Ok(Self {
            dir,
            input: input.to_string(),
            name,
            kept,
            known,
            added: Vec::new(),
            seen: 0,
        })
    }

    /// Bad records met in this reading of the input.
    pub fn count(&self) -> u64 {
        self.seen
    }

    pub fn add(&mut self, entry: &QuarantineEntry) -> Result<(), LakeError> {
        self.seen += 1;
        let room = (self.kept.len() + self.added.len()) < KEPT_PER_INPUT as usize;
        if room && self.known.insert(entry.identity()) {
            let line = serde_json::to_string(entry).map_err(|e| LakeError::Io {
                path: self.dir.join(&self.name),
                source: e.into(),
            })?;
            self.added.push(line);
        }
        Ok(())
    }

    /// Writes what is new (the input's file, replaced whole, and the index) and returns the
    /// input's quarantine file when it has one.
    pub fn finish(self) -> Result<Option<PathBuf>, LakeError> {
        let path = self.dir.join(&self.name);
        if self.seen == 0 {
            return Ok(path.exists().then_some(path));
        }
        fs::create_dir_all(&self.dir).map_err(io_error(&self.dir))?;
        if !self.added.is_empty() {
            let lines = self.kept.iter().chain(&self.added);
            replace_file(&self.dir, &self.name, |out| {
                for line in lines {
                    out.write_all(line.as_bytes())?;
                    out.write_all(b"\n")?;
                }
                Ok(())
            })?;
        }
        let mut index = load_index(&self.dir)?;
        let record = index.entry(self.input.clone()).or_default();
        record.file = self.name.clone();
        record.kept = (self.kept.len() + self.added.len()) as u64;
        record.total = self.seen.max(record.kept);
        let bytes = serde_json::to_vec_pretty(&index).map_err(|e| io_error(&path)(e.into()))?;
        replace_file(&self.dir, INDEX, |out| out.write_all(&bytes))?;
        Ok(Some(path))
    }
}

/// `<last path segment, sanitized>-<hash of the whole input name>.ndjson`: stable for an
/// input, distinct for two inputs with the same file name.
fn file_name(input: &str) -> String {
    let last = input
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("input");
    let stem: String = last
        .split(['?', '#'])
        .next()
        .unwrap_or("input")
        .chars()
        .take(80)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut hasher = crate::model::columns::StableHasher::default();
    hasher.write_field(input.as_bytes());
    let hash: String = hasher.finish()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{stem}-{hash}.ndjson")
}

/// The quarantine as `lake stats` shows it: inputs with bad records, records kept, records
/// met. Quarantine files from before the index are counted by their lines.
pub fn count_quarantined(lake: &Lake) -> Result<QuarantineCounts, LakeError> {
    let dir = lake.quarantine_dir();
    if !dir.exists() {
        return Ok(QuarantineCounts::default());
    }
    let index = load_index(&dir)?;
    let indexed: HashSet<&str> = index.values().map(|i| i.file.as_str()).collect();
    let mut counts = QuarantineCounts::default();
    for input in index.values() {
        counts.inputs += 1;
        counts.kept += input.kept;
        counts.total += input.total;
    }
    for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
        let path = entry.map_err(io_error(&dir))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let legacy =
            name.ends_with(".ndjson") && !name.starts_with('.') && !indexed.contains(name.as_str());
        if legacy {
            let lines = count_lines(&path)?;
            counts.inputs += 1;
            counts.kept += lines;
            counts.total += lines;
        }
    }
    Ok(counts)
}

/// What the quarantine holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuarantineCounts {
    /// Inputs with bad records.
    pub inputs: u64,
    /// Bad records kept (at most [`KEPT_PER_INPUT`] per input).
    pub kept: u64,
    /// Bad records met.
    pub total: u64,
}

fn count_lines(path: &Path) -> Result<u64, LakeError> {
    use std::io::Read;
    let mut file = File::open(path).map_err(io_error(path))?;
    let mut buffer = vec![0u8; 1 << 16];
    let mut lines = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(io_error(path))?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buffer[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}
