//! Quarantine: records that could not be read or normalized, kept with their file, place and
//! reason in `_quarantine/<time>-<input>.ndjson` so that nothing is silently dropped. Each
//! input's quarantine file is written to a hidden temporary name and renamed when complete.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{io_error, Lake, LakeError};

/// One quarantined record. The JSON Lines schema of quarantine files:
/// `{"file", "line"?, "record_number"?, "kind"?, "reason", "record"}` where `record` is the
/// parsed record when it was valid JSON, else its text.
#[derive(Debug, Clone, Serialize)]
pub struct QuarantineEntry {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub reason: String,
    pub record: Value,
}

/// The quarantine file of one input, created on its first entry.
pub struct Quarantine {
    dir: PathBuf,
    name: String,
    writer: Option<(PathBuf, BufWriter<File>)>,
    count: u64,
}

impl Quarantine {
    /// `input` names the document the entries come from (a file path or a URL); `started`
    /// stamps the file name.
    pub fn new(lake: &Lake, input: &str, started: &str) -> Self {
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
        Self {
            dir: lake.quarantine_dir(),
            name: format!(
                "{started}-{stem}-{}.ndjson",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            writer: None,
            count: 0,
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn add(&mut self, entry: &QuarantineEntry) -> Result<(), LakeError> {
        if self.writer.is_none() {
            fs::create_dir_all(&self.dir).map_err(io_error(&self.dir))?;
            let temp = self.dir.join(format!(".{}.tmp", self.name));
            let file = File::create(&temp).map_err(io_error(&temp))?;
            self.writer = Some((temp, BufWriter::new(file)));
        }
        if let Some((path, writer)) = self.writer.as_mut() {
            serde_json::to_writer(&mut *writer, entry).map_err(|e| LakeError::Io {
                path: path.clone(),
                source: e.into(),
            })?;
            writer.write_all(b"\n").map_err(io_error(path))?;
        }
        self.count += 1;
        Ok(())
    }

    /// Commits the quarantine file (if any entry was written) and returns its path.
    pub fn finish(mut self) -> Result<Option<PathBuf>, LakeError> {
        let Some((temp, writer)) = self.writer.take() else {
            return Ok(None);
        };
        let file = writer.into_inner().map_err(|e| LakeError::Io {
            path: temp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_error(&temp))?;
        let final_path = self.dir.join(&self.name);
        fs::rename(&temp, &final_path).map_err(io_error(&final_path))?;
        Ok(Some(final_path))
    }
}

/// Counts quarantined records across all committed quarantine files.
pub fn count_quarantined(lake: &Lake) -> Result<(u64, u64), LakeError> {
    let dir = lake.quarantine_dir();
    if !dir.exists() {
        return Ok((0, 0));
    }
    let mut files = 0;
    let mut records = 0;
    for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
        let path = entry.map_err(io_error(&dir))?.path();
        let is_committed = path.extension().is_some_and(|e| e == "ndjson")
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if is_committed {
            files += 1;
            records += count_lines(&path)?;
        }
    }
    Ok((files, records))
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
