//! The access review through the emitters: the holdings as one table with empty reviewer
//! columns (decision, justification, reviewer, date) for people to fill in, and the roles'
//! PIM settings with their weak ones. `csv` holds the holdings; `md`, `html`, `json` and
//! `xlsx` hold both.

use std::io::Write;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::html::escape;
use super::{json, md, write_batches, Format, ReportError};
use crate::workspace::{AccessReview, GroupBy, ReviewRow};

/// The columns people fill in, left empty.
pub const REVIEWER_COLUMNS: [&str; 4] = ["decision", "justification", "reviewer", "reviewed_on"];
/// What the decision column takes (a list in XLSX).
pub const DECISIONS: [&str; 3] = ["approve", "revoke", "change"];

/// The holdings as one table, in the order `group_by` lists them.
pub fn holdings_batch(
    review: &AccessReview,
    group_by: GroupBy,
) -> Result<RecordBatch, ReportError> {
    let rows: Vec<(String, &ReviewRow)> = review
        .grouped(group_by)
        .into_iter()
        .flat_map(|(group, rows)| rows.into_iter().map(move |r| (group.clone(), r)))
        .collect();
    let text = |f: &dyn Fn(&ReviewRow) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(|(_, r)| f(r)).collect::<StringArray>())
    };
    let boolean = |f: &dyn Fn(&ReviewRow) -> bool| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|(_, r)| Some(f(r)))
                .collect::<BooleanArray>(),
        )
    };
    let mut fields = vec![Field::new("group", DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(
        rows.iter()
            .map(|(g, _)| Some(g.clone()))
            .collect::<StringArray>(),
    )];
    let mut add = |name: &str, data_type: DataType, column: ArrayRef| {
        fields.push(Field::new(name, data_type, true));
        columns.push(column);
    };
    add(
        "principal",
        DataType::Utf8,
        text(&|r| Some(r.principal_name.clone())),
    );
    add("upn", DataType::Utf8, text(&|r| r.upn.clone()));
    add(
        "principal_id",
        DataType::Utf8,
        text(&|r| Some(r.principal_id.clone())),
    );
    add(
        "principal_type",
        DataType::Utf8,
        text(&|r| Some(r.principal_type.clone())),
    );
    add("guest", DataType::Boolean, boolean(&|r| r.is_external));
    add("synced", DataType::Boolean, boolean(&|r| r.is_synced));
    add(
        "disabled",
        DataType::Boolean,
        boolean(&|r| !r.account_enabled),
    );
    add(
        "break_glass",
        DataType::Boolean,
        boolean(&|r| r.is_break_glass),
    );
    add("role", DataType::Utf8, text(&|r| Some(r.role_name.clone())));
    add(
        "role_id",
        DataType::Utf8,
        text(&|r| Some(r.role_id.clone())),
    );
    add(
        "tier",
        DataType::Int64,
        Arc::new(
            rows.iter()
                .map(|(_, r)| Some(r.tier))
                .collect::<Int64Array>(),
        ),
    );
    add("scope", DataType::Utf8, text(&|r| Some(r.scope.clone())));
    add("kind", DataType::Utf8, text(&|r| Some(r.kind.clone())));
    add(
        "until",
        DataType::Utf8,
        text(&|r| {
            Some(if r.is_permanent {
                "permanent".to_string()
            } else {
                r.end_time.clone().unwrap_or_else(|| "unknown".into())
            })
        }),
    );
    add(
        "granted_at",
        DataType::Utf8,
        text(&|r| r.granted_at.clone()),
    );
    add(
        "granted_how",
        DataType::Utf8,
        text(&|r| Some(r.granted_how.clone())),
    );
    add(
        "granted_by",
        DataType::Utf8,
        text(&|r| r.granted_by.clone()),
    );
    add(
        "last_activation",
        DataType::Utf8,
        text(&|r| r.last_activation.clone()),
    );
    add(
        "activations_in_period",
        DataType::Int64,
        Arc::new(
            rows.iter()
                .map(|(_, r)| Some(r.activations))
                .collect::<Int64Array>(),
        ),
    );
    add(
        "active_hours_in_period",
        DataType::Float64,
        Arc::new(
            rows.iter()
                .map(|(_, r)| Some(r.active_hours))
                .collect::<Float64Array>(),
        ),
    );
    add(
        "last_successful_sign_in",
        DataType::Utf8,
        text(&|r| match r.sign_in_activity.as_deref() {
            Some("absent") | None if r.principal_type == "user" => Some("unknown".into()),
            _ => r.last_signed_in.clone(),
        }),
    );
    add(
        "last_mfa",
        DataType::Utf8,
        text(&|r| {
            r.last_mfa.as_ref().map(|t| match &r.last_mfa_method {
                Some(method) => format!("{t} ({method})"),
                None => t.clone(),
            })
        }),
    );
    add(
        "open_alerts",
        DataType::Utf8,
        text(&|r| Some(r.open_alerts.join(", "))),
    );
    add(
        "recommendation",
        DataType::Utf8,
        text(&|r| Some(r.recommendation.as_str().to_string())),
    );
    add(
        "reasons",
        DataType::Utf8,
        text(&|r| Some(r.reasons.join("; "))),
    );
    for name in REVIEWER_COLUMNS {
        add(name, DataType::Utf8, text(&|_| Some(String::new())));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// The roles' PIM settings, one row per role and scope, with what is weak in them.
pub fn policies_batch(review: &AccessReview) -> Result<RecordBatch, ReportError> {
    let schema = Schema::new(vec![
        Field::new("role", DataType::Utf8, false),
        Field::new("role_id", DataType::Utf8, false),
        Field::new("tier", DataType::Int64, false),
        Field::new("scope", DataType::Utf8, false),
        Field::new("weak_settings", DataType::Utf8, false),
    ]);
    let p = &review.policies;
    let text = |f: &dyn Fn(usize) -> String| -> ArrayRef {
        Arc::new((0..p.len()).map(|i| Some(f(i))).collect::<StringArray>())
    };
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            text(&|i| p[i].role_name.clone()),
            text(&|i| p[i].role_id.clone()),
            Arc::new(p.iter().map(|x| Some(x.tier)).collect::<Int64Array>()),
            text(&|i| p[i].scope.clone()),
            text(&|i| {
                if p[i].weak.is_empty() {
                    "none".into()
                } else {
                    p[i].weak.join("; ")
                }
            }),
        ],
    )?)
}

/// One line on what the review covers.
pub fn heading(review: &AccessReview) -> String {
    let counts = |level: &str| {
        review
            .rows
            .iter()
            .filter(|r| r.recommendation.as_str() == level)
            .count()
    };
    let mut line = format!(
        "Access review of privileged roles as of {}; period {} days from {}; {} holding(s): {} remove, {} review, {} keep",
        review.as_of,
        review.period_days,
        review.period_start,
        review.rows.len(),
        counts("remove"),
        counts("review"),
        counts("keep")
    );
    if let Some(from) = review.history_from {
        line.push_str(&format!(
            "; the lake's activity starts {from}, after the period does"
        ));
    }
    match &review.alerts_run {
        Some(run) => line.push_str(&format!("; open alerts from run {run}")),
        None => {
            line.push_str("; no stored detect run at or before this time: open alerts not shown")
        }
    }
    line
}

pub fn write_access_review(
    format: Format,
    review: &AccessReview,
    group_by: GroupBy,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    match format {
        Format::Csv | Format::Ndjson => {
            write_batches(format, &[holdings_batch(review, group_by)?], out)
        }
        Format::Json => {
            let document = serde_json::json!({
                "as_of": review.as_of.to_rfc3339(),
                "period_days": review.period_days,
                "period_start": review.period_start.to_rfc3339(),
                "history_from": review.history_from.map(|t| t.to_rfc3339()),
                "stale_days": review.stale_days,
                "alerts_run": review.alerts_run,
                "holdings": json::rows(&[holdings_batch(review, group_by)?])?,
                "policies": json::rows(&[policies_batch(review)?])?,
            });
            serde_json::to_writer_pretty(&mut *out, &document)?;
            writeln!(out)?;
            Ok(())
        }
        Format::Table => {
            writeln!(out, "{}", heading(review))?;
            write_batches(format, &[holdings_batch(review, group_by)?], out)?;
            writeln!(out, "\nPIM settings of the privileged roles")?;
            write_batches(format, &[policies_batch(review)?], out)
        }
        Format::Md => {
            writeln!(out, "# Access review\n\n{}\n", md::escape(&heading(review)))?;
            writeln!(out, "## Holdings\n")?;
            write_batches(format, &[holdings_batch(review, group_by)?], out)?;
            writeln!(out, "\n## PIM settings of the privileged roles\n")?;
            write_batches(format, &[policies_batch(review)?], out)
        }
        Format::Html => write_html(review, group_by, out),
        Format::Xlsx => super::xlsx::write_access_review(review, group_by, out),
        Format::Ocsf => Err(ReportError::Unsupported(
            "ocsf is a format for alerts; an access review is csv, xlsx, html, md or json".into(),
        )),
    }
}

fn write_html(
    review: &AccessReview,
    group_by: GroupBy,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let nonce = super::html::nonce();
    super::html::head(
        out,
        &format!("Access review as of {}", review.as_of),
        &nonce,
    )?;
    writeln!(
        out,
        "<h1>Access review of privileged roles as of {}</h1>\n<p class=\"meta\">{}</p>",
        escape(&review.as_of.to_rfc3339()),
        escape(&heading(review))
    )?;
    for (group, rows) in review.grouped(group_by) {
        writeln!(
            out,
            "<h2>{}</h2>\n<table><thead><tr><th>principal</th><th>type</th><th>role</th><th>scope</th><th>kind</th><th>until</th><th>granted</th><th>used in the period</th><th>last sign-in</th><th>open alerts</th><th>recommendation</th><th>decision</th><th>justification</th><th>reviewer</th><th>date</th></tr></thead><tbody>",
            escape(&group)
        )?;
        for r in rows {
            let mut flags = Vec::new();
            if r.is_external {
                flags.push("guest");
            }
            if r.is_synced {
                flags.push("synced");
            }
            if !r.account_enabled {
                flags.push("disabled");
            }
            if r.is_break_glass {
                flags.push("break-glass");
            }
            writeln!(
                out,
                "<tr><td>{}<br><span class=\"note\">{}</span></td><td>{}{}</td><td>{} (tier {})</td><td>{}</td><td>{}</td><td>{}</td><td>{} {}<br><span class=\"note\">{}</span></td><td>{} activation(s), {} h<br><span class=\"note\">last {}</span></td><td>{}</td><td>{}</td><td class=\"rec-{}\"><b>{}</b><br>{}</td><td></td><td></td><td></td><td></td></tr>",
                escape(&r.principal_name),
                escape(r.upn.as_deref().unwrap_or(&r.principal_id)),
                escape(&r.principal_type),
                if flags.is_empty() { String::new() } else { format!("<br>{}", escape(&flags.join(", "))) },
                escape(&r.role_name),
                r.tier,
                escape(&r.scope),
                escape(&r.kind),
                if r.is_permanent { "permanent".to_string() } else { escape(r.end_time.as_deref().unwrap_or("unknown")) },
                escape(&r.granted_how),
                escape(r.granted_at.as_deref().unwrap_or("")),
                escape(r.granted_by.as_deref().unwrap_or("")),
                r.activations,
                r.active_hours,
                escape(r.last_activation.as_deref().unwrap_or("none")),
                escape(r.last_signed_in.as_deref().unwrap_or("unknown")),
                escape(&r.open_alerts.join(", ")),
                r.recommendation.as_str(),
                r.recommendation.as_str(),
                escape(&r.reasons.join("; ")),
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    writeln!(
        out,
        "<h2>PIM settings of the privileged roles</h2>\n<table><thead><tr><th>role</th><th>tier</th><th>scope</th><th>weak settings</th></tr></thead><tbody>"
    )?;
    for p in &review.policies {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.role_name),
            p.tier,
            escape(&p.scope),
            escape(&if p.weak.is_empty() {
                "none".to_string()
            } else {
                p.weak.join("; ")
            })
        )?;
    }
    writeln!(out, "</tbody></table>\n</body>\n</html>")?;
    Ok(())
}
