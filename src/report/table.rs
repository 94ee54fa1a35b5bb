//! A table for the terminal: boxed columns, every cell made printable (log text cannot move
//! the cursor or recolour the terminal), and the row count under it.

use std::io::Write;

use datafusion::arrow::record_batch::RecordBatch;

use super::{for_each_row, printable, ReportError};

pub fn write(batches: &[RecordBatch], out: &mut dyn Write) -> Result<(), ReportError> {
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
    let line = |cells: &[String], align: bool| {
        let mut text = String::from("|");
        for ((cell, w), &right) in cells.iter().zip(&widths).zip(&right) {
            let pad = " ".repeat(w - cell.chars().count());
            text.push(' ');
            if align && right {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
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
