//! One writer at a time. A writer (ingest, a detect that stores its run, later pull and run)
//! holds an exclusive lock on `_lake/lock` for as long as it writes; a second one is refused
//! with the first one's command, process and start time, or waits with `--wait`. The lock is
//! the operating system's (`flock`): a writer that dies, even by `kill -9`, releases it, so a
//! stale lock cannot block the lake.
//!
//! Every writer session has an id that its data files carry (`part-<session>-<uuid>.parquet`)
//! and that stays in the lock file while it writes; a writer that finishes clears it. So the
//! next writer knows exactly which files a writer that died had written and never
//! committed, and deletes those, and temporary files — never a file someone else put there
//! (`lake check` reports those). It also deletes files retired by earlier commits once no
//! reader can still be reading them. A writer's files become visible only at
//! [`WriteLock::commit`].

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::manifest::{relative, Manifest, EXTRA_TABLES, LAKE_DIR};
use super::{io_error, Lake, LakeError, QUARANTINE_DIR};
use crate::model::{all_tables, Instant};

const LOCK: &str = "lock";
/// A retired file is deleted once it has been out of the manifest this long: a reader that
/// opened the lake before its commit has finished with it by then.
const RETIRED_GRACE_NANOS: i64 = 10 * 60 * 1_000_000_000;

/// Who holds the lock, kept in the lock file for the next writer's message (and, when the
/// holder died, for the next writer's clean-up).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    command: String,
    pid: u32,
    since: String,
    session: String,
}

/// The exclusive right to write the lake, and the commit being built.
pub struct WriteLock {
    lake: Lake,
    /// Holds the lock; closing it releases the lock.
    file: File,
    session: String,
    manifest: Manifest,
    /// Files written and not yet committed (relative paths).
    pending: BTreeSet<String>,
    /// Committed files the next commit removes from the manifest.
    retiring: BTreeSet<String>,
    /// Files the next commit drops from the manifest without deleting them (`lake check
    /// --repair` has moved them aside, or they are gone).
    forgetting: BTreeSet<String>,
}

impl Lake {
    /// Takes the writer lock for `command` (named to a second writer); with `wait`, waits for
    /// the current writer to finish instead of refusing.
    pub fn lock_for_writing(&self, command: &str, wait: bool) -> Result<WriteLock, LakeError> {
        let (mut file, path) = open_lock_file(self, LOCK)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) if wait => file.lock().map_err(io_error(&path))?,
            Err(TryLockError::WouldBlock) => {
                return Err(LakeError::Locked {
                    lake: self.root().to_path_buf(),
                    holder: describe_holder(&mut file),
                })
            }
            Err(TryLockError::Error(e)) => return Err(io_error(&path)(e)),
        }
        // A holder still named in the file died while writing: its session's files go.
        let mut previous = String::new();
        let _ = file
            .rewind()
            .and_then(|()| file.read_to_string(&mut previous));
        let dead_session = serde_json::from_str::<Holder>(&previous)
            .ok()
            .map(|h| h.session);
        let session = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let holder = Holder {
            command: command.to_string(),
            pid: std::process::id(),
            since: Instant::now().to_rfc3339(),
            session: session.clone(),
        };
        write_holder(&mut file, &path, &holder)?;
        let manifest = match Manifest::load(self)? {
            Some(manifest) => manifest,
            None => {
                // A lake written before manifests: its files are all committed.
                let adopted = Manifest::scan(self)?;
                adopted.save(self)?;
                adopted
            }
        };
        let mut lock = WriteLock {
            lake: self.clone(),
            file,
            session,
            manifest,
            pending: BTreeSet::new(),
            retiring: BTreeSet::new(),
            forgetting: BTreeSet::new(),
        };
        lock.clear_leftovers(dead_session.as_deref())?;
        Ok(lock)
    }
}

/// Opens (creating) the lock file `name` in `_lake/`, not yet locked.
fn open_lock_file(lake: &Lake, name: &str) -> Result<(File, PathBuf), LakeError> {
    lake.check_is_folder()?;
    let dir = lake.root().join(LAKE_DIR);
    fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let path = dir.join(name);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error(&path))?;
    Ok((file, path))
}

/// Writes who holds a lock into its file (for the next one's message).
fn write_holder(file: &mut File, path: &Path, holder: &Holder) -> Result<(), LakeError> {
    let text = serde_json::to_vec(holder).map_err(|e| io_error(path)(e.into()))?;
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(&text))
        .map_err(io_error(path))
}

fn describe_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    match serde_json::from_str::<Holder>(&text) {
        Ok(h) => format!(
            "`pimwatch {}` (process {}, since {})",
            crate::report::printable(&h.command),
            h.pid,
            h.since
        ),
        Err(_) => "another pimwatch process".to_string(),
    }
}

impl WriteLock {
    /// This session's id, part of every data file name it writes.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// The committed state this writer builds on (its own commits included).
    pub fn committed(&self) -> &Manifest {
        &self.manifest
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// Adds a file written into the lake to the next commit.
    pub fn add(&mut self, path: &Path) -> Result<(), LakeError> {
        let relative = relative(&self.lake, path).ok_or_else(|| LakeError::Damaged {
            path: path.to_path_buf(),
            reason: "a file outside the lake cannot be committed to it".into(),
        })?;
        self.pending.insert(relative);
        Ok(())
    }

    /// Makes `path` the only file of its partition at the next commit: the partition's other
    /// files are retired.
    pub fn replace_partition_with(&mut self, path: &Path) -> Result<(), LakeError> {
        self.add(path)?;
        let Some(folder) = path.parent().and_then(|p| relative(&self.lake, p)) else {
            return Ok(());
        };
        let prefix = format!("{folder}/");
        let new = relative(&self.lake, path);
        let old: Vec<String> = self
            .manifest
            .all_files()
            .chain(self.pending.iter())
            .filter(|f| f.starts_with(&prefix) && Some(*f) != new.as_ref())
            .cloned()
            .collect();
        for file in old {
            self.pending.remove(&file);
            self.retiring.insert(file);
        }
        Ok(())
    }

    /// Drops `path` from the manifest at the next commit, leaving the file where it is.
    pub fn forget(&mut self, path: &Path) -> Result<(), LakeError> {
        if let Some(relative) = relative(&self.lake, path) {
            self.pending.remove(&relative);
            self.forgetting.insert(relative);
        }
        Ok(())
    }

    /// Makes everything added since the last commit visible, at once.
    pub fn commit(&mut self) -> Result<(), LakeError> {
        if self.pending.is_empty() && self.retiring.is_empty() && self.forgetting.is_empty() {
            return Ok(());
        }
        let mut next = self.manifest.clone();
        next.commit += 1;
        for file in &self.pending {
            if let Some(table) = file.split('/').next() {
                next.tables
                    .entry(table.to_string())
                    .or_default()
                    .insert(file.clone());
            }
        }
        let now = Instant::now().nanos();
        for file in &self.retiring {
            for files in next.tables.values_mut() {
                if files.remove(file) {
                    next.retired.push((file.clone(), now));
                }
            }
        }
        for file in &self.forgetting {
            for files in next.tables.values_mut() {
                files.remove(file);
            }
        }
        next.tables.retain(|_, files| !files.is_empty());
        next.save(&self.lake)?;
        self.manifest = next;
        self.pending.clear();
        self.retiring.clear();
        self.forgetting.clear();
        Ok(())
    }

    /// Deletes what no commit will ever name: temporary files, the files of a session that died
    /// before its commit, and retired files past their grace period.
    fn clear_leftovers(&mut self, dead_session: Option<&str>) -> Result<(), LakeError> {
        let dead_mark = dead_session.map(|s| format!("-{s}-"));
        let tables = all_tables()
            .into_iter()
            .map(|(name, _, _)| name)
            .chain(EXTRA_TABLES.iter().map(|(name, _)| *name));
        let mut folders: Vec<PathBuf> = vec![
            self.lake.root().join(LAKE_DIR),
            self.lake.root().join(QUARANTINE_DIR),
        ];
        for table in tables {
            let dir = self.lake.table_dir(table);
            if let Ok(entries) = fs::read_dir(&dir) {
                folders.extend(
                    entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.is_dir()),
                );
            }
        }
        for folder in folders {
            let Ok(entries) = fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let temporary = name.starts_with('.') && name.ends_with(".tmp");
                let uncommitted = dead_mark.as_ref().is_some_and(|mark| name.contains(mark))
                    && name.ends_with(".parquet")
                    && relative(&self.lake, &path).is_some_and(|r| !self.manifest.contains(&r));
                if (temporary || uncommitted) && path.is_file() {
                    fs::remove_file(&path).map_err(io_error(&path))?;
                }
            }
        }
        let now = Instant::now().nanos();
        let before = self.manifest.retired.len();
        let root = self.lake.root().to_path_buf();
        self.manifest.retired.retain(|(file, at)| {
            if now.saturating_sub(*at) < RETIRED_GRACE_NANOS {
                return true;
            }
            let path = root.join(file);
            // Gone already is as good as deleted; a file that will not go stays listed.
            fs::remove_file(&path).is_err() && path.exists()
        });
        if self.manifest.retired.len() != before {
            self.manifest.save(&self.lake)?;
        }
        Ok(())
    }
}

impl Drop for WriteLock {
    /// Files of a commit that never happened are deleted, and the lock file says nobody is
    /// writing (best effort: if this fails, the next writer clears up after this session).
    fn drop(&mut self) {
        let mut cleared = true;
        for file in &self.pending {
            let path = self.lake.root().join(file);
            cleared &= fs::remove_file(&path).is_ok() || !path.exists();
        }
        if cleared {
            let _ = self.file.set_len(0);
        }
    }
}

const RUN_LOCK: &str = "run.lock";

/// The right to run the scheduled job (`pimwatch run`) on a lake: one at a time. A run takes
/// the writer lock only while it writes, so readers and a manual `query` go on meanwhile; two
/// runs must not interleave their stages. Released when dropped, or when the process dies.
pub struct RunLock {
    _file: File,
}

impl Lake {
    /// Takes the run lock, or says who holds it.
    pub fn lock_run(&self) -> Result<RunLock, LakeError> {
        let (mut file, path) = open_lock_file(self, RUN_LOCK)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LakeError::RunLocked {
                    lake: self.root().to_path_buf(),
                    holder: describe_holder(&mut file),
                })
            }
            Err(TryLockError::Error(e)) => return Err(io_error(&path)(e)),
        }
        let holder = Holder {
            command: "run".into(),
            pid: std::process::id(),
            since: Instant::now().to_rfc3339(),
            session: String::new(),
        };
        write_holder(&mut file, &path, &holder)?;
        Ok(RunLock { _file: file })
    }
}
