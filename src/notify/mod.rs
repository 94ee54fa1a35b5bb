//! Notifications: a run's open alerts at or above a severity, posted to webhooks — a generic
//! JSON webhook (one alert per request, the documented alert schema), Microsoft Teams (an
//! Adaptive Card message, as Teams workflows and incoming webhooks take) and Slack
//! (incoming-webhook `text` and `blocks`).
//!
//! - **Once per alert:** every delivery is logged in the lake (`notifications/date=…`), and
//!   an alert is posted to a webhook only if it was never delivered there (a reopened alert
//!   once more per run in which it reopens). An alert whose delivery failed is tried again by
//!   the next run; an ongoing alert already delivered is not posted again.
//! - **Floods:** more than `max_per_run` alerts for one webhook become one summary message.
//! - **Faults:** a timeout per request, and up to three attempts with backoff (honouring
//!   `Retry-After` on 429 and 503).
//! - **Secrets:** webhook URLs carry their token. They come from config, an environment
//!   variable or a file, and never appear in logs or errors: a webhook is named by its `name`.
//! - **Attacker-controlled text** (names, summaries) goes into Slack and Teams as code spans
//!   with backticks removed, so it can neither render links or mentions nor format the
//!   message.

mod log;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};

use crate::alerts::{Alert, Status};
use crate::config::{WebhookConfig, WebhookKind};
use crate::lake::{Lake, LakeError};
use crate::model::{Instant, Severity};
use crate::report::{json_rows, ALERT_SCHEMA_VERSION};

pub use log::{load_deliveries, record_deliveries, Delivery, NOTIFICATIONS_TABLE};

/// Attempts per request before a delivery counts as failed.
const ATTEMPTS: u32 = 3;
/// The longest wait a `Retry-After` may ask for before the next attempt.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// What one webhook got in a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookOutcome {
    pub name: String,
    /// Alerts delivered (in messages of their own or in a summary).
    pub delivered: usize,
    /// Messages posted.
    pub messages: usize,
    /// Whether the alerts came as one summary (more than `max_per_run`).
    pub summarized: bool,
    /// Alerts not delivered; the next run tries them again.
    pub failed: usize,
    /// Why the last delivery failed (never the URL).
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("webhook `{0}`: no URL: set `url`, `url_env` (an environment variable that is set) or `url_file`")]
    NoUrl(String),
    #[error("webhook `{name}`: reading its url_file: {source}")]
    UrlFile {
        name: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lake(#[from] LakeError),
}

/// The webhook's URL, from config, the environment or a file (never logged).
fn url_of(hook: &WebhookConfig) -> Result<String, NotifyError> {
    if let Some(url) = &hook.url {
        return Ok(url.clone());
    }
    if let Some(var) = &hook.url_env {
        if let Some(url) = std::env::var(var).ok().filter(|u| !u.trim().is_empty()) {
            return Ok(url.trim().to_string());
        }
    }
    if let Some(path) = &hook.url_file {
        let text = std::fs::read_to_string(path).map_err(|source| NotifyError::UrlFile {
            name: hook.name.clone(),
            source,
        })?;
        return Ok(text.trim().to_string());
    }
    Err(NotifyError::NoUrl(hook.name.clone()))
}

/// Posts the run's alerts to every webhook and logs the deliveries in the lake. Blocking
/// (HTTP): call it off the async workers.
pub fn notify(
    lake: &Lake,
    lock: &mut crate::lake::WriteLock,
    hooks: &[WebhookConfig],
    alerts: &[Alert],
    run_id: &str,
) -> Result<Vec<WebhookOutcome>, NotifyError> {
    let delivered = load_deliveries(lake)?;
    let mut outcomes = Vec::new();
    let mut deliveries = Vec::new();
    for hook in hooks {
        let mut outcome = WebhookOutcome {
            name: hook.name.clone(),
            ..Default::default()
        };
        let url = match url_of(hook) {
            Ok(url) => url,
            Err(e) => {
                outcome.error = Some(e.to_string());
                outcome.failed = due(hook, alerts, &delivered, run_id).len();
                outcomes.push(outcome);
                continue;
            }
        };
        let due = due(hook, alerts, &delivered, run_id);
        if due.is_empty() {
            outcomes.push(outcome);
            continue;
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(
                hook.timeout_seconds.unwrap_or(10),
            )))
            .http_status_as_error(false)
            .build()
            .into();
        let max = hook.max_per_run.unwrap_or(20);
        let messages: Vec<(Vec<&Alert>, Value)> = if due.len() > max {
            outcome.summarized = true;
            vec![(due.clone(), summary_message(hook.kind, &due, run_id))]
        } else {
            due.iter()
                .map(|a| (vec![*a], alert_message(hook.kind, a)))
                .collect()
        };
        for (covered, body) in messages {
            match post(&agent, &url, &body) {
                Ok(()) => {
                    outcome.messages += 1;
                    outcome.delivered += covered.len();
                    deliveries.extend(covered.iter().map(|a| Delivery {
                        alert_id: a.alert_id.clone(),
                        webhook: hook.name.clone(),
                        run_id: run_id.to_string(),
                        at: Instant::now(),
                    }));
                }
                Err(error) => {
                    outcome.failed += covered.len();
                    outcome.error = Some(redact(&error, &url));
                }
            }
        }
        outcomes.push(outcome);
    }
    record_deliveries(lake, lock, &deliveries)?;
    Ok(outcomes)
}

/// The alerts a webhook is owed: open, at or above its severity, never delivered there (a
/// reopened one: not in this run).
fn due<'a>(
    hook: &WebhookConfig,
    alerts: &'a [Alert],
    delivered: &[Delivery],
    run_id: &str,
) -> Vec<&'a Alert> {
    let min = hook.min_severity.unwrap_or(Severity::High);
    let sent: BTreeSet<&str> = delivered
        .iter()
        .filter(|d| d.webhook == hook.name)
        .map(|d| d.alert_id.as_str())
        .collect();
    let sent_this_run: BTreeSet<&str> = delivered
        .iter()
        .filter(|d| d.webhook == hook.name && d.run_id == run_id)
        .map(|d| d.alert_id.as_str())
        .collect();
    alerts
        .iter()
        .filter(|a| a.status.is_open() && a.severity >= min)
        .filter(|a| match a.status {
            Status::Reopened => !sent_this_run.contains(a.alert_id.as_str()),
            _ => !sent.contains(a.alert_id.as_str()),
        })
        .collect()
}

/// One POST with retries; the error names what failed, never the URL (the caller redacts
/// what a transport error might echo).
fn post(agent: &ureq::Agent, url: &str, body: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let response = agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(&bytes[..]);
        let wait = match response {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                let status = response.status().as_u16();
                last = format!("HTTP {status}");
                if !(status == 429 || status >= 500) {
                    return Err(last);
                }
                response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
            }
            Err(e) => {
                last = e.to_string();
                None
            }
        };
        if attempt < ATTEMPTS {
            std::thread::sleep(wait.unwrap_or(Duration::from_millis(250 << attempt)));
        }
    }
    Err(format!("{last} after {ATTEMPTS} attempts"))
}

/// An error message with the URL and anything after `?` in it taken out.
fn redact(message: &str, url: &str) -> String {
    let mut text = message.replace(url, "<webhook url>");
    if let Some((base, _)) = url.split_once('?') {
        text = text.replace(base, "<webhook url>");
    }
    text
}

/// Log text shown as a code span: no links, mentions or formatting can come out of it.
fn inert(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    format!("`{}`", cleaned.trim())
}

/// Slack also needs `&`, `<`, `>` escaped everywhere.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn headline(alert: &Alert) -> String {
    format!(
        "{} {} alert: {} (score {})",
        alert.status.as_str(),
        alert.severity,
        alert.title,
        alert.score
    )
}

/// One alert as the webhook's message.
pub fn alert_message(kind: WebhookKind, alert: &Alert) -> Value {
    let entity = alert.entity_name.as_deref().unwrap_or(&alert.entity_id);
    match kind {
        WebhookKind::Json => {
            let mut object = serde_json::Map::new();
            object.insert("schema_version".into(), json!(ALERT_SCHEMA_VERSION));
            let rows = crate::alerts::alert_batch(std::slice::from_ref(alert))
                .ok()
                .and_then(|b| json_rows(&[b]).ok())
                .and_then(|mut rows| rows.pop())
                .unwrap_or_default();
            object.extend(rows);
            Value::Object(object)
        }
        WebhookKind::Slack => {
            let text = slack_escape(&format!(
                "{}\n{} {}\n{}\nrule {} · alert {}",
                headline(alert),
                alert.entity_type,
                inert(entity),
                inert(&alert.summary),
                alert.rule_id,
                alert.alert_id
            ));
            json!({
                "text": text,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            })
        }
        WebhookKind::Teams => teams_card(
            &headline(alert),
            vec![
                (
                    "Entity".into(),
                    format!("{} {}", alert.entity_type, inert(entity)),
                ),
                ("Summary".into(), inert(&alert.summary)),
                ("Rule".into(), alert.rule_id.to_string()),
                ("Alert".into(), alert.alert_id.clone()),
                ("Run".into(), alert.run_id.clone()),
            ],
        ),
    }
}

/// Many alerts as one message: counts per severity and the highest-ranked ones.
pub fn summary_message(kind: WebhookKind, alerts: &[&Alert], run_id: &str) -> Value {
    let mut counts: BTreeMap<Severity, usize> = BTreeMap::new();
    for alert in alerts {
        *counts.entry(alert.severity).or_default() += 1;
    }
    let by_severity: Vec<String> = counts
        .iter()
        .rev()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let title = format!(
        "pimwatch run {run_id}: {} alert(s) to look at ({})",
        alerts.len(),
        by_severity.join(", ")
    );
    let top: Vec<&&Alert> = alerts.iter().take(10).collect();
    match kind {
        WebhookKind::Json => json!({
            "schema_version": ALERT_SCHEMA_VERSION,
            "type": "summary",
            "run_id": run_id,
            "count": alerts.len(),
            "by_severity": counts.iter().map(|(s, n)| (s.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "alert_ids": alerts.iter().map(|a| a.alert_id.clone()).collect::<Vec<_>>(),
        }),
        WebhookKind::Slack => {
            let lines: Vec<String> = top
                .iter()
                .map(|a| {
                    format!(
                        "• {} {} {}",
                        a.severity,
                        a.rule_id,
                        inert(a.entity_name.as_deref().unwrap_or(&a.entity_id))
                    )
                })
                .collect();
            let text = slack_escape(&format!("{title}\n{}", lines.join("\n")));
            json!({
                "text": text,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            })
        }
        WebhookKind::Teams => teams_card(
            &title,
            top.iter()
                .map(|a| {
                    (
                        format!("{} {}", a.severity, a.rule_id),
                        inert(a.entity_name.as_deref().unwrap_or(&a.entity_id)),
                    )
                })
                .collect(),
        ),
    }
}

/// A Teams message with one Adaptive Card: a title and facts.
fn teams_card(title: &str, facts: Vec<(String, String)>) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": true},
                    {"type": "FactSet", "facts": facts.into_iter().map(|(t, v)| json!({"title": t, "value": v})).collect::<Vec<_>>()},
                ],
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_cannot_format_link_or_mention() {
        assert_eq!(
            inert("[click](https://evil) `x` <!channel>"),
            "`[click](https://evil) 'x' <!channel>`"
        );
        assert_eq!(
            slack_escape("<!channel> & <https://evil|x>"),
            "&lt;!channel&gt; &amp; &lt;https://evil|x&gt;"
        );
    }

    #[test]
    fn errors_never_carry_the_url() {
        let url = "https://hooks.example/services/T000/B000/SECRETTOKEN?sig=abc";
        let message = format!("connection refused: {url}");
        assert!(!redact(&message, url).contains("SECRETTOKEN"));
        let base_only = "error sending to https://hooks.example/services/T000/B000/SECRETTOKEN";
        assert!(!redact(base_only, url).contains("SECRETTOKEN"));
    }
}
