//! HTML: one self-contained file that opens anywhere and fetches nothing. Its CSS and script
//! are inline and allowed by a per-file nonce in a Content-Security-Policy that forbids every
//! other source, so even text that escaped escaping could load or run nothing; every string
//! (all of them can come from the logs) is escaped, and the script only reorders and hides
//! rows, never writes markup. The chart is inline SVG drawn here.

use std::fmt::Write as _;
use std::io::Write;

use datafusion::arrow::record_batch::RecordBatch;

use super::alerts::{status_label, AlertReport, RunSummary, SHORT_ID};
use super::{for_each_row, ReportError};
use crate::alerts::{Alert, Status};
use crate::model::Severity;

/// Text made inert in HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => escaped.push('\u{fffd}'),
            c => escaped.push(c),
        }
    }
    escaped
}

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1b1f24;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
.meta{color:#57606a;margin:0 0 1rem}
.cards{display:flex;gap:.6rem;flex-wrap:wrap}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .9rem;min-width:6rem}
.card b{display:block;font-size:1.5rem}
.sev-critical{color:#8b0000}.sev-high{color:#cf222e}.sev-medium{color:#9a6700}.sev-low{color:#0969da}.sev-info{color:#57606a}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}
th.sortable{cursor:pointer}th.sortable:after{content:" \2195";color:#8c959f}
td.num{text-align:right}
details summary{cursor:pointer}
details dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.5rem 0}
details dt{font-weight:600}details dd{margin:0}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:.4rem;margin:0}
.controls{display:flex;gap:.6rem;margin:.5rem 0;flex-wrap:wrap}
.controls input{min-width:18rem}
.changes li{margin:.15rem 0}
.note{color:#57606a}
.rec-remove{color:#cf222e}.rec-review{color:#9a6700}.rec-keep{color:#1a7f37}
"#;

/// Sorting (click a header) and filtering (text, severity, status) of the alert table.
const SCRIPT: &str = r#"
(function(){
  var table=document.getElementById('alerts');
  if(!table){return;}
  var body=table.tBodies[0];
  var rows=Array.prototype.slice.call(body.rows);
  var text=document.getElementById('filter-text');
  var sev=document.getElementById('filter-severity');
  var status=document.getElementById('filter-status');
  var shown=document.getElementById('shown');
  function apply(){
    var needle=text.value.toLowerCase();
    var count=0;
    rows.forEach(function(row){
      var keep=(!needle||row.textContent.toLowerCase().indexOf(needle)>=0)
        &&(!sev.value||row.getAttribute('data-severity')===sev.value)
        &&(!status.value||row.getAttribute('data-status')===status.value);
      row.hidden=!keep;
      if(keep){count++;}
    });
    shown.textContent=String(count);
  }
  [text,sev,status].forEach(function(el){el.addEventListener('input',apply);});
  var headers=table.tHead.rows[0].cells;
  Array.prototype.forEach.call(headers,function(th,column){
    if(!th.classList.contains('sortable')){return;}
    var ascending=true;
    th.addEventListener('click',function(){
      var numeric=th.getAttribute('data-type')==='number';
      rows.sort(function(a,b){
        var x=a.cells[column].getAttribute('data-key')||a.cells[column].textContent;
        var y=b.cells[column].getAttribute('data-key')||b.cells[column].textContent;
        var order=numeric?(parseFloat(x)-parseFloat(y)):x.localeCompare(y);
        return ascending?order:-order;
      });
      ascending=!ascending;
      rows.forEach(function(row){body.appendChild(row);});
    });
  });
  apply();
  document.body.setAttribute('data-ready','true');
})();
"#;

/// A random nonce for this file's own style and script.
pub(super) fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(super) fn head(out: &mut dyn Write, title: &str, nonce: &str) -> Result<(), ReportError> {
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src data:; \
         base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{}</title>\n<style nonce=\"{nonce}\">{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    )?;
    Ok(())
}

/// Any tabular result as a plain, escaped HTML page.
pub fn write_table(batches: &[RecordBatch], out: &mut dyn Write) -> Result<(), ReportError> {
    let nonce = nonce();
    head(out, "pimwatch result", &nonce)?;
    writeln!(out, "<table>")?;
    if let Some(first) = batches.first() {
        write!(out, "<thead><tr>")?;
        for field in first.schema().fields() {
            write!(out, "<th>{}</th>", escape(field.name()))?;
        }
        writeln!(out, "</tr></thead>")?;
    }
    writeln!(out, "<tbody>")?;
    let mut count = 0usize;
    for_each_row(batches, |cells| {
        write!(out, "<tr>")?;
        for cell in cells {
            write!(out, "<td>{}</td>", escape(cell))?;
        }
        writeln!(out, "</tr>")?;
        count += 1;
        Ok(())
    })?;
    writeln!(
        out,
        "</tbody></table>\n<p class=\"note\">{count} row(s)</p>\n</body>\n</html>"
    )?;
    Ok(())
}

/// The alert report: counts by severity and rule, the chart over the stored runs, what
/// changed since the previous run, and the sortable, filterable table whose rows expand to
/// the whole alert.
pub fn write_alert_report(report: &AlertReport, out: &mut dyn Write) -> Result<(), ReportError> {
    let nonce = nonce();
    let alerts = &report.alerts;
    head(
        out,
        &format!("pimwatch alerts as of {}", report.as_of),
        &nonce,
    )?;
    writeln!(
        out,
        "<h1>pimwatch alerts as of {}</h1>\n<p class=\"meta\">Run {} · generated {} · {} of the run's {} alert(s){}</p>",
        escape(&report.as_of),
        escape(&report.run_id),
        escape(&report.generated_at.to_rfc3339()),
        alerts.len(),
        report.total,
        report
            .filter
            .as_deref()
            .map(|f| format!(" · filtered: {}", escape(f)))
            .unwrap_or_default()
    )?;

    // Counts by severity (open alerts).
    writeln!(
        out,
        "<h2>Open alerts by severity</h2>\n<div class=\"cards\">"
    )?;
    for severity in Severity::ALL.iter() {
        let n = alerts
            .iter()
            .filter(|a| a.status.is_open() && a.severity == *severity)
            .count();
        writeln!(
            out,
            "<div class=\"card sev-{s}\"><b>{n}</b>{s}</div>",
            s = severity.as_str()
        )?;
    }
    writeln!(out, "</div>")?;

    write_chart(out, &report.history)?;
    write_changes(out, report)?;
    write_rule_counts(out, alerts)?;
    write_alert_table(out, report)?;

    writeln!(
        out,
        "<script nonce=\"{nonce}\">{SCRIPT}</script>\n</body>\n</html>"
    )?;
    Ok(())
}

/// The chart's colour of each severity.
fn fill(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#8b0000",
        Severity::High => "#cf222e",
        Severity::Medium => "#d4a72c",
        Severity::Low => "#0969da",
        Severity::Info => "#8c959f",
    }
}

/// Open alerts per stored run, stacked by severity, as inline SVG.
fn write_chart(out: &mut dyn Write, history: &[RunSummary]) -> Result<(), ReportError> {
    writeln!(out, "<h2>Open alerts over the stored runs</h2>")?;
    if history.is_empty() {
        writeln!(out, "<p class=\"note\">No stored runs.</p>")?;
        return Ok(());
    }
    let (bar, gap, height, top, bottom, left) =
        (28usize, 10usize, 160usize, 10usize, 46usize, 40usize);
    let width = left + history.len() * (bar + gap) + gap;
    let most = history
        .iter()
        .map(|r| r.open_by_severity.iter().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg id=\"chart\" role=\"img\" aria-label=\"open alerts per run\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" viewBox=\"0 0 {width} {}\">",
        height + top + bottom,
        height + top + bottom
    );
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{}\" font-size=\"11\">{most}</text><text x=\"0\" y=\"{}\" font-size=\"11\">0</text>",
        top + 10,
        top + height
    );
    for (i, run) in history.iter().enumerate() {
        let x = left + gap + i * (bar + gap);
        let mut y = top + height;
        // Stacked from the bottom: info first, critical on top.
        for (level, count) in run.open_by_severity.iter().enumerate().rev() {
            if *count == 0 {
                continue;
            }
            let h = (count * height).div_ceil(most);
            y -= h.min(y - top);
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{bar}\" height=\"{h}\" fill=\"{}\"><title>{} {}: {count}</title></rect>",
                fill(Severity::ALL[level]),
                escape(&run.run_id),
                Severity::ALL[level].as_str()
            );
        }
        let total: usize = run.open_by_severity.iter().sum();
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{total}</text>\
             <text x=\"{}\" y=\"{}\" font-size=\"9\" text-anchor=\"end\" transform=\"rotate(-40 {} {})\">{}</text>",
            x + bar / 2,
            y.saturating_sub(2).max(top),
            x + bar / 2,
            top + height + 12,
            x + bar / 2,
            top + height + 12,
            escape(&run_label(&run.run_id))
        );
    }
    svg.push_str("</svg>");
    writeln!(out, "{svg}")?;
    let legend: Vec<String> = Severity::ALL
        .iter()
        .map(|s| format!("<span class=\"sev-{0}\">■ {0}</span>", s.as_str()))
        .collect();
    writeln!(out, "<p class=\"note\">{}</p>", legend.join(" "))?;
    Ok(())
}

/// `10-31 12:00` for run `20261031T120000Z`; other ids as they are.
fn run_label(run_id: &str) -> String {
    match (
        run_id.get(4..6),
        run_id.get(6..8),
        run_id.get(9..11),
        run_id.get(11..13),
    ) {
        (Some(month), Some(day), Some(hour), Some(minute)) if run_id.len() == 16 => {
            format!("{month}-{day} {hour}:{minute}")
        }
        _ => run_id.to_string(),
    }
}

/// What changed since the previous run: the run's new, reopened, resolved and aged-out
/// alerts.
fn write_changes(out: &mut dyn Write, report: &AlertReport) -> Result<(), ReportError> {
    writeln!(out, "<h2>Changes since the previous run</h2>")?;
    let Some(previous) = &report.previous_run else {
        writeln!(
            out,
            "<p class=\"note\">This is the first stored run: every alert is new.</p>"
        )?;
        return Ok(());
    };
    writeln!(
        out,
        "<p class=\"note\">Compared with run {}.</p>\n<ul class=\"changes\">",
        escape(previous)
    )?;
    for (status, words) in [
        (Status::New, "new"),
        (Status::Reopened, "reopened (closed, then found again)"),
        (Status::Resolved, "resolved (the condition is gone)"),
        (Status::AgedOut, "aged out (their events left the window)"),
    ] {
        let changed: Vec<&Alert> = report
            .alerts
            .iter()
            .filter(|a| a.status == status)
            .collect();
        write!(out, "<li><b>{}</b> {words}", changed.len())?;
        if !changed.is_empty() {
            write!(out, ": ")?;
            let names: Vec<String> = changed
                .iter()
                .take(20)
                .map(|a| {
                    format!(
                        "{} · {}",
                        escape(a.rule_id.as_str()),
                        escape(a.entity_name.as_deref().unwrap_or(&a.entity_id))
                    )
                })
                .collect();
            write!(out, "{}", names.join("; "))?;
            if changed.len() > 20 {
                write!(out, "; and {} more", changed.len() - 20)?;
            }
        }
        writeln!(out, "</li>")?;
    }
    writeln!(out, "</ul>")?;
    Ok(())
}

fn write_rule_counts(out: &mut dyn Write, alerts: &[Alert]) -> Result<(), ReportError> {
    let mut counts: std::collections::BTreeMap<(&str, &str), (usize, usize)> = Default::default();
    for alert in alerts {
        let entry = counts
            .entry((alert.rule_id.as_str(), alert.title.as_str()))
            .or_default();
        entry.1 += 1;
        if alert.status.is_open() {
            entry.0 += 1;
        }
    }
    writeln!(
        out,
        "<h2>Alerts by rule</h2>\n<table id=\"rules\"><thead><tr><th>rule</th><th>title</th><th>open</th><th>all</th></tr></thead><tbody>"
    )?;
    for ((rule, title), (open, all)) in counts {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{open}</td><td class=\"num\">{all}</td></tr>",
            escape(rule),
            escape(title)
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    Ok(())
}

fn write_alert_table(out: &mut dyn Write, report: &AlertReport) -> Result<(), ReportError> {
    let alerts = &report.alerts;
    writeln!(out, "<h2>Alerts</h2>\n<div class=\"controls\">\
        <input id=\"filter-text\" type=\"search\" placeholder=\"Filter: rule, entity, summary…\" aria-label=\"filter\">\
        <select id=\"filter-severity\" aria-label=\"severity\"><option value=\"\">every severity</option>")?;
    for severity in Severity::ALL.iter() {
        writeln!(out, "<option>{}</option>", severity.as_str())?;
    }
    writeln!(
        out,
        "</select><select id=\"filter-status\" aria-label=\"status\"><option value=\"\">every status</option>"
    )?;
    for status in Status::ALL {
        writeln!(out, "<option>{}</option>", status.as_str())?;
    }
    writeln!(
        out,
        "</select><span class=\"note\"><span id=\"shown\">{}</span> shown</span></div>",
        alerts.len()
    )?;
    writeln!(
        out,
        "<table id=\"alerts\"><thead><tr>\
         <th class=\"sortable\" data-type=\"number\">rank</th>\
         <th class=\"sortable\" data-type=\"number\">score</th>\
         <th class=\"sortable\" data-type=\"number\">severity</th>\
         <th class=\"sortable\">status</th>\
         <th class=\"sortable\">rule</th>\
         <th class=\"sortable\">entity</th>\
         <th>alert</th></tr></thead><tbody>"
    )?;
    for (rank, alert) in alerts.iter().enumerate() {
        write_alert_row(out, report, rank + 1, alert)?;
    }
    writeln!(out, "</tbody></table>")?;
    if alerts.is_empty() {
        writeln!(out, "<p class=\"note\">No alerts.</p>")?;
    }
    Ok(())
}

fn write_alert_row(
    out: &mut dyn Write,
    report: &AlertReport,
    rank: usize,
    alert: &Alert,
) -> Result<(), ReportError> {
    let severity = alert.severity.as_str();
    let severity_key = Severity::ALL
        .iter()
        .position(|s| *s == alert.severity)
        .unwrap_or(0);
    let entity = alert.entity_name.as_deref().unwrap_or(&alert.entity_id);
    write!(
        out,
        "<tr data-severity=\"{severity}\" data-status=\"{status}\">\
         <td class=\"num\">{rank}</td><td class=\"num\">{score}</td>\
         <td class=\"sev-{severity}\" data-key=\"{severity_key}\">{severity}</td>\
         <td>{status_label}</td><td>{rule}</td><td>{entity}</td><td><details><summary>{summary}</summary><dl>",
        status = alert.status.as_str(),
        status_label = escape(&status_label(alert)),
        score = alert.score,
        rule = escape(alert.rule_id.as_str()),
        entity = escape(entity),
        summary = escape(&alert.summary),
    )?;
    let mut item = |term: &str, value: &str| -> std::io::Result<()> {
        write!(out, "<dt>{}</dt><dd>{}</dd>", escape(term), value)
    };
    item(
        "alert",
        &format!(
            "{} <span class=\"note\">({})</span>",
            escape(&alert.title),
            escape(alert.alert_id.get(..SHORT_ID).unwrap_or(&alert.alert_id))
        ),
    )?;
    item(
        "entity",
        &format!(
            "{} {} <span class=\"note\">{}</span>",
            escape(&alert.entity_type),
            escape(entity),
            escape(&alert.entity_id)
        ),
    )?;
    let seen = match (&alert.first_seen, &alert.last_seen) {
        (Some(first), Some(last)) => format!("{} → {}", escape(first), escape(last)),
        (Some(first), None) => escape(first),
        (None, Some(last)) => escape(last),
        (None, None) => "state as of the run".to_string(),
    };
    item("seen", &seen)?;
    if let Some(count) = alert.event_count {
        item("events", &count.to_string())?;
    }
    item(
        "score",
        &format!(
            "{} = {}",
            alert.score,
            escape(&alert.score_reasons.join("; "))
        ),
    )?;
    if let Some(suppression) = &alert.suppression {
        item("suppressed", &escape(suppression))?;
    }
    if let Some(triage) = &alert.triage {
        item("triage", &escape(triage))?;
    }
    let evidence = serde_json::to_string_pretty(&alert.evidence).unwrap_or_default();
    item("evidence", &format!("<pre>{}</pre>", escape(&evidence)))?;
    if let Some(rule) = report.rules.get(&alert.rule_id) {
        item("why it matters", &escape(&rule.description))?;
    }
    item("what to do", &escape(&alert.remediation))?;
    if !alert.mitre.is_empty() {
        item("MITRE ATT&CK", &escape(&alert.mitre.join(", ")))?;
    }
    if let Some(rule) = report.rules.get(&alert.rule_id) {
        if !rule.references.is_empty() {
            let links: Vec<String> = rule
                .references
                .iter()
                .map(|r| {
                    if r.starts_with("https://") {
                        format!(
                            "<a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a>",
                            escape(r)
                        )
                    } else {
                        escape(r)
                    }
                })
                .collect();
            item("references", &links.join("<br>"))?;
        }
    }
    writeln!(out, "</dl></details></td></tr>")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_quotes_and_controls_are_inert() {
        assert_eq!(
            escape("<script>alert('x')</script>\"&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"
        );
        assert_eq!(escape("a\u{1b}[31mb"), "a\u{fffd}[31mb");
    }
}
