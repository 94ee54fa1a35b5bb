//! A progress bar for long ingests, drawn only when stderr is a terminal.

use indicatif::{ProgressBar, ProgressStyle};

use crate::ingest::Progress;

#[derive(Default)]
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Progress for Bar {
    fn start(&mut self, total_bytes: u64, files: usize) {
        let bar = ProgressBar::new(total_bytes);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {msg}",
        ) {
            bar.set_style(style);
        }
        bar.set_message(format!("{files} file(s)"));
        self.bar = Some(bar);
    }

    fn file_done(&mut self, name: &str, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            let short = name.rsplit(['/', '\\']).next().unwrap_or(name);
            bar.set_message(short.to_string());
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
