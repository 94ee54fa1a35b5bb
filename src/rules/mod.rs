//! Rules: the rule pack (`rules/*.toml`), the shared views (`rules/views/*.sql`), running
//! them on the engine, and their embedded tests. The pack ships inside the binary; `--rules`
//! names the packs to use instead: folders of the same layout, and `builtin` for the one
//! inside, so `--rules builtin,./our-rules` adds a site's rules to it.

pub mod context;
mod file;
mod lint;
mod run;
mod testing;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use file::{BreakGlass, ParamRange, ParamValue, Rule, RuleId, RuleKind, RuleTest, Severity};
pub use lint::{lint, LintOutcome, LintSubject};
pub use run::{
    bind_params, check_output_columns, evaluate, history_start, lookback_days, Finding,
    RuleFailure, RunOptions, RunResult,
};
pub use testing::{example_finding, run_tests, TestOutcome};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        origin: String,
        line: Option<usize>,
        message: String,
    },
    #[error("{origin}: rule `{rule}`: {message}")]
    Invalid {
        origin: String,
        rule: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Where a pack came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Origin {
    #[default]
    Embedded,
    Dir(PathBuf),
}

/// The name that selects the pack built into the binary in `--rules`.
pub const BUILTIN: &str = "builtin";

/// Every rule and view of one or more packs.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// (view name, SELECT), sorted by name.
    pub views: Vec<(String, String)>,
}

impl RuleSet {
    /// The packs named by `--rules` (`builtin` or folders), merged; none means `builtin`.
    /// A rule id or view name defined twice is an error naming both places.
    pub fn load(sources: &[String]) -> Result<Self, RuleError> {
        let load_one = |source: &str| {
            if source == BUILTIN {
                Self::embedded()
            } else {
                Self::load_dir(Path::new(source))
            }
        };
        let mut sources = sources.iter().map(String::as_str);
        let mut merged = load_one(sources.next().unwrap_or(BUILTIN))?;
        for source in sources {
            merged = merged.merge(load_one(source)?)?;
        }
        Ok(merged)
    }

    fn merge(mut self, other: RuleSet) -> Result<Self, RuleError> {
        for rule in other.rules {
            if let Some(existing) = self.get(&rule.id) {
                return Err(RuleError::Other(format!(
                    "rule id `{}` is defined in both {} and {}; rename one, or disable it in pimwatch.toml",
                    rule.id, existing.origin, rule.origin
                )));
            }
            self.rules.push(rule);
        }
        for (name, sql) in other.views {
            if self.views.iter().any(|(n, _)| *n == name) {
                return Err(RuleError::Other(format!(
                    "view `{name}` is defined by more than one rule pack; rename one"
                )));
            }
            self.views.push((name, sql));
        }
        self.rules.sort_by(|a, b| a.id.cmp(&b.id));
        self.views.sort();
        Ok(self)
    }

    /// The pack built into the binary.
    pub fn embedded() -> Result<Self, RuleError> {
        let files = embedded::EMBEDDED_RULE_FILES
            .iter()
            .map(|(path, text)| (path.to_string(), text.to_string()));
        Self::from_files(files, Origin::Embedded)
    }

    /// A folder laid out like `rules/`: `*.toml` rules (nested folders allowed, `fixtures/`
    /// skipped) and `views/*.sql`.
    pub fn load_dir(dir: &Path) -> Result<Self, RuleError> {
        let mut files = Vec::new();
        walk(dir, dir, &mut files)?;
        files.sort();
        Self::from_files(files.into_iter(), Origin::Dir(dir.to_path_buf()))
    }

    fn from_files(
        files: impl Iterator<Item = (String, String)>,
        origin: Origin,
    ) -> Result<Self, RuleError> {
        let label = |relative: &str| match &origin {
            Origin::Embedded => format!("rules/{relative} (built in)"),
            Origin::Dir(dir) => dir.join(relative).display().to_string(),
        };
        let mut rules: Vec<Rule> = Vec::new();
        let mut views = BTreeMap::new();
        for (relative, text) in files {
            if relative.starts_with("fixtures/") {
                continue;
            }
            if let Some(name) = relative
                .strip_prefix("views/")
                .and_then(|n| n.strip_suffix(".sql"))
            {
                if crate::engine::reserved_table_names().contains(&name) {
                    return Err(RuleError::Other(format!(
                        "{}: a view cannot be named `{name}`: that is a table of the lake or of the run; rename the file",
                        label(&relative)
                    )));
                }
                views.insert(name.to_string(), text);
            } else if relative.ends_with(".toml") {
                let mut rule = Rule::parse(&label(&relative), &text)?;
                rule.pack = origin.clone();
                if let Some(other) = rules.iter().find(|r| r.id == rule.id) {
                    return Err(RuleError::Other(format!(
                        "rule id `{}` is used by both {} and {}",
                        rule.id, other.origin, rule.origin
                    )));
                }
                rules.push(rule);
            }
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Self {
            rules,
            views: views.into_iter().collect(),
        })
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The fixture files or folders a test of `rule` names, as paths to ingest: read in place
    /// from a folder pack, copied into `dest` from the built-in one.
    pub fn fixture_paths(
        rule: &Rule,
        inputs: &[&str],
        dest: &Path,
    ) -> Result<Vec<PathBuf>, RuleError> {
        let mut paths = Vec::new();
        for input in inputs {
            let input = input.trim_end_matches('/');
            match &rule.pack {
                Origin::Dir(dir) => {
                    let path = dir.join(input);
                    if !path.exists() {
                        return Err(RuleError::Other(format!(
                            "test input {} does not exist",
                            path.display()
                        )));
                    }
                    paths.push(path);
                }
                Origin::Embedded => {
                    let target = dest.join(input);
                    let mut found = false;
                    for (relative, text) in embedded::EMBEDDED_RULE_FILES {
                        let inside =
                            *relative == input || relative.starts_with(&format!("{input}/"));
                        if !inside {
                            continue;
                        }
                        found = true;
                        let path = dest.join(relative);
                        if let Some(parent) = path.parent() {
                            std::fs::create_dir_all(parent).map_err(|source| RuleError::Io {
                                path: parent.to_path_buf(),
                                source,
                            })?;
                        }
                        std::fs::write(&path, text)
                            .map_err(|source| RuleError::Io { path, source })?;
                    }
                    if !found {
                        return Err(RuleError::Other(format!(
                            "test input rules/{input} is not in the built-in pack"
                        )));
                    }
                    paths.push(target);
                }
            }
        }
        Ok(paths)
    }
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) -> Result<(), RuleError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RuleError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, files)?;
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let wanted = relative.ends_with(".toml")
            || (relative.starts_with("views/") && relative.ends_with(".sql"));
        if wanted {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            files.push((relative, text));
        }
    }
    Ok(())
}
