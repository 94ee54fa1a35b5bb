//! Where results go, and how the process says things on the side.
//!
//! Results go to stdout, or with `--output FILE` to a file that appears only once complete
//! (written beside it, then renamed), so a scheduled job never leaves half an export where a
//! reviewer would pick it up. Notes, warnings and errors go to stderr and never stop the
//! process: a closed stderr (`detect … 2>&1 | head`) loses the note, not the run.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Results: stdout, or a file committed by [`Output::finish`].
pub enum Output {
    Stdout(io::Stdout),
    File {
        writer: BufWriter<File>,
        partial: PathBuf,
        target: PathBuf,
    },
}

impl Output {
    /// Stdout, or `path` (written as `.<name>.partial` beside it until finished).
    pub fn open(path: Option<&Path>) -> io::Result<Self> {
        let Some(target) = path else {
            return Ok(Self::Stdout(io::stdout()));
        };
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::other("--output must name a file"))?;
        let mut partial_name = std::ffi::OsString::from(".");
        partial_name.push(name);
        partial_name.push(".partial");
        let partial = target.with_file_name(partial_name);
        let file = File::create(&partial)?;
        Ok(Self::File {
            writer: BufWriter::new(file),
            partial,
            target: target.to_path_buf(),
        })
    }

    /// Flushes everything; a file is synced and moved into place. An error here (a full disk,
    /// a closed pipe) means the result did not arrive.
    pub fn finish(self) -> io::Result<()> {
        match self {
            Self::Stdout(mut out) => out.flush(),
            Self::File {
                writer,
                partial,
                target,
            } => {
                let file = writer.into_inner().map_err(|e| e.into_error())?;
                file.sync_all()?;
                std::fs::rename(&partial, &target)
            }
        }
    }

    /// Drops a partial file after a failure.
    pub fn abandon(self) {
        if let Self::File { partial, .. } = self {
            let _ = std::fs::remove_file(partial);
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Stdout(out) => out.write(buf),
            Self::File { writer, .. } => writer.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Stdout(out) => out.flush(),
            Self::File { writer, .. } => writer.flush(),
        }
    }
}

/// One line on stderr, made inert (it quotes file names and log text: no escape sequence or
/// line break of theirs reaches the terminal); a stderr that cannot be written to is ignored
/// (never a panic, as `eprintln!` would).
pub fn say_line(line: std::fmt::Arguments<'_>) {
    let text = line.to_string();
    let mut err = io::stderr().lock();
    let _ = err.write_all(crate::report::printable(&text).as_bytes());
    let _ = err.write_all(b"\n");
}

/// `say!("warning: {}", x)`: a line on stderr that cannot fail.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::say_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Whether an error is a closed pipe: the reader went away (`| head`), which ends the
/// command quietly.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<crate::report::ReportError>()
                .is_some_and(crate::report::ReportError::is_broken_pipe)
    })
}
