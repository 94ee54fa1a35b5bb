//! A table for the terminal: boxed columns, every cell made printable (log text cannot move
//! the cursor or recolour the terminal), and the row count under it. On a colour terminal a
//! `severity` column is coloured by its value (the colours are ours, never the log's).

use std::io::Write;

use datafusion::arrow::record_batch::RecordBatch;

use super::{for_each_row, printable, ReportError};

/// How a table is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableStyle {
    /// Colour the cells of a `severity` column (a terminal that shows colour).
    pub colour_severity: bool,
}

pub fn write(batches: &[RecordBatch], out: &mut dyn Write) -> Result<(), ReportError> {
    write_styled(batches, out, TableStyle::default())
}

/// The ANSI colour of a severity.
fn severity_colour(severity: &str) -> Option<&'static str> {
    Some(match severity {
        "critical" => "\u{1b}[1;31m",
        "high" => "\u{1b}[31m",
        "medium" => "\u{1b}[33m",
        "low" => "\u{1b}[36m",
        "info" => "\u{1b}[2m",
        _ => return None,
    })
}

pub fn write_styled(
    batches: &[RecordBatch],
    out: &mut dyn Write,
    style: TableStyle,
) -> Result<(), ReportError> {
    let Some(schema) = batches.first().map(RecordBatch::schema) else {
        writeln!(out, "(no result)")?;
        writeln!(out, "0 rows")?;
        return Ok(());
    };
    let header: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| printable(f.name()).into_owned())
        .collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for_each_row(batches, |cells| {
        rows.push(cells.iter().map(|c| printable(c).into_owned()).collect());
        Ok(())
    })?;
    let width = |column: usize| {
        rows.iter()
            .map(|r| r[column].chars().count())
            .chain([header[column].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    // Numbers line up on the right, as people compare them.
    let right: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().is_numeric())
        .collect();
    let rule: String = widths.iter().fold(String::from("+"), |mut line, w| {
        line.push_str(&"-".repeat(w + 2));
        line.push('+');
        line
    });
    let severity_column = schema
        .fields()
        .iter()
        .position(|f| f.name() == "severity")
        .filter(|_| style.colour_severity);
    let line = |cells: &[String], body: bool| {
        let mut text = String::from("|");
        for (column, ((cell, w), &right)) in cells.iter().zip(&widths).zip(&right).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            let colour = (body && severity_column == Some(column))
                .then(|| severity_colour(cell))
                .flatten();
            text.push(' ');
            if body && right {
                text.push_str(&pad);
            }
            match colour {
                Some(colour) => {
                    text.push_str(colour);
                    text.push_str(cell);
                    text.push_str("\u{1b}[0m");
                }
                None => text.push_str(cell),
            }
            if !(body && right) {
                text.push_str(&pad);
            }
            text.push_str(" |");
        }
        text
    };
    writeln!(out, "{rule}")?;
    writeln!(out, "{}", line(&header, false))?;
    writeln!(out, "{rule}")?;
    for row in &rows {
        writeln!(out, "{}", line(row, true))?;
    }
    if !rows.is_empty() {
        writeln!(out, "{rule}")?;
    }
    writeln!(
        out,
        "{} row{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )?;
    Ok(())
}
