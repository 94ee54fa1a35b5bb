//! A Markdown table (GitHub flavour), to paste into a ticket. Cells are escaped so that log
//! text can neither break the table (`|`, line breaks) nor inject markup (`<`, `>`, `&`,
//! backticks, brackets).

use std::io::Write;

use datafusion::arrow::record_batch::RecordBatch;

use super::{for_each_row, printable, ReportError};

pub fn write(batches: &[RecordBatch], out: &mut dyn Write) -> Result<(), ReportError> {
    let Some(first) = batches.first() else {
        writeln!(out, "_No result._")?;
        return Ok(());
    };
    let schema = first.schema();
    let header: Vec<String> = schema.fields().iter().map(|f| escape(f.name())).collect();
    writeln!(out, "| {} |", header.join(" | "))?;
    writeln!(
        out,
        "|{}|",
        header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    )?;
    let mut count = 0usize;
    for_each_row(batches, |cells| {
        let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
        count += 1;
        Ok(())
    })?;
    if count == 0 {
        writeln!(out, "\n_No rows._")?;
    }
    Ok(())
}

/// A cell's text, inert in Markdown.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '|' => escaped.push_str("\\|"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '`' | '*' | '_' | '[' | ']' | '\\' | '#' | '!' => {
                escaped.push('\\');
                escaped.push(c);
            }
            '⏎' => escaped.push_str("<br>"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_table_breakers_are_escaped() {
        assert_eq!(
            escape("<script>alert(1)</script>|x\ny"),
            "&lt;script&gt;alert(1)&lt;/script&gt;\\|x<br>y"
        );
        assert_eq!(escape("[click](http://evil)"), "\\[click\\](http://evil)");
    }
}
