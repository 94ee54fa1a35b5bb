//! Writing Graph `directoryAudit` and `signIn` objects in each channel's real format:
//! - Graph pages: `{"@odata.context", "value": [...], "@odata.nextLink"}`, 1,000 a page;
//! - Event Hub / storage blobs: hourly `PT1H.json` files in the diagnostic-settings layout,
//!   one envelope record per line, the Graph object in `properties`, `category` naming the
//!   log;
//! - Log Analytics exports: PascalCase columns, dynamic columns as JSON strings, `Type`
//!   naming the table, one row per line.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// How logs reach pimwatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Channel {
    /// Microsoft Graph pages (`value` arrays with `@odata.context`), as a script saves them.
    Graph,
    /// Azure Monitor diagnostic settings to Event Hub or storage (`PT1H.json`).
    Eventhub,
    /// Log Analytics / Sentinel exports (`AuditLogs`, `SigninLogs`, …).
    LogAnalytics,
}

/// The log a Graph object belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    DirectoryAudit,
    SignIn,
}

impl LogKind {
    pub fn graph_context(self) -> &'static str {
        match self {
            LogKind::DirectoryAudit => {
                "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits"
            }
            LogKind::SignIn => "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
        }
    }

    fn file_stem(self) -> &'static str {
        match self {
            LogKind::DirectoryAudit => "directoryAudits",
            LogKind::SignIn => "signIns",
        }
    }
}

/// Records a Graph page holds, as Graph returns them.
pub const PAGE_SIZE: usize = 1000;

fn field<'a>(object: &'a Value, key: &str) -> &'a Value {
    object.get(key).unwrap_or(&Value::Null)
}

fn is_interactive(sign_in: &Value) -> bool {
    sign_in
        .get("isInteractive")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// A dynamic column as Log Analytics exports it: JSON text, `""` when absent.
fn dynamic_column(value: &Value) -> Value {
    match value {
        Value::Null => Value::String(String::new()),
        other => Value::String(other.to_string()),
    }
}

/// The Azure Monitor (Event Hub / storage) record of a Graph object.
pub fn to_event_hub(kind: LogKind, tenant_id: &str, graph: &Value) -> Value {
    let resource_id = format!("/tenants/{tenant_id}/providers/Microsoft.aadiam");
    match kind {
        LogKind::DirectoryAudit => {
            let user = field(field(graph, "initiatedBy"), "user");
            let app = field(field(graph, "initiatedBy"), "app");
            let identity = if user.is_object() {
                field(user, "displayName")
            } else {
                field(app, "displayName")
            };
            json!({
                "time": field(graph, "activityDateTime"),
                "resourceId": resource_id,
                "operationName": field(graph, "activityDisplayName"),
                "operationVersion": "1.0",
                "category": "AuditLogs",
                "tenantId": tenant_id,
                "resultSignature": "None",
                "durationMs": 0,
                "callerIpAddress": field(user, "ipAddress"),
                "correlationId": field(graph, "correlationId"),
                "identity": identity,
                "Level": 4,
                "properties": graph,
            })
        }
        LogKind::SignIn => {
            let status = field(graph, "status");
            let error_code = field(status, "errorCode").as_i64().unwrap_or(0);
            json!({
                "time": field(graph, "createdDateTime"),
                "resourceId": resource_id,
                "operationName": "Sign-in activity",
                "operationVersion": "1.0",
                "category": if is_interactive(graph) { "SignInLogs" } else { "NonInteractiveUserSignInLogs" },
                "tenantId": tenant_id,
                "resultType": error_code.to_string(),
                "resultSignature": "None",
                "resultDescription": field(status, "failureReason"),
                "durationMs": 0,
                "callerIpAddress": field(graph, "ipAddress"),
                "correlationId": field(graph, "correlationId"),
                "identity": field(graph, "userDisplayName"),
                "Level": 4,
                "location": field(field(graph, "location"), "countryOrRegion"),
                "properties": graph,
            })
        }
    }
}

/// The Log Analytics export row of a Graph object.
pub fn to_log_analytics(kind: LogKind, tenant_id: &str, graph: &Value) -> Value {
    let mut row = Map::new();
    let mut put = |key: &str, value: Value| {
        row.insert(key.to_string(), value);
    };
    put("TenantId", json!(tenant_id));
    put("SourceSystem", json!("Azure AD"));
    match kind {
        LogKind::DirectoryAudit => {
            let user = field(field(graph, "initiatedBy"), "user");
            let app = field(field(graph, "initiatedBy"), "app");
            put("TimeGenerated", field(graph, "activityDateTime").clone());
            put(
                "ResourceId",
                json!(format!("/tenants/{tenant_id}/providers/Microsoft.aadiam")),
            );
            put("OperationName", field(graph, "activityDisplayName").clone());
            put("OperationVersion", json!("1.0"));
            put("Category", field(graph, "category").clone());
            put("ResultSignature", json!("None"));
            put("DurationMs", json!(0));
            put("CorrelationId", field(graph, "correlationId").clone());
            put("Resource", json!("Microsoft.aadiam"));
            put("ResourceGroup", json!("Microsoft.aadiam"));
            put(
                "Identity",
                if user.is_object() {
                    field(user, "displayName").clone()
                } else {
                    field(app, "displayName").clone()
                },
            );
            put("Level", json!("4"));
            put(
                "AdditionalDetails",
                dynamic_column(field(graph, "additionalDetails")),
            );
            put("Id", field(graph, "id").clone());
            put("InitiatedBy", dynamic_column(field(graph, "initiatedBy")));
            put("LoggedByService", field(graph, "loggedByService").clone());
            put("Result", field(graph, "result").clone());
            put("ResultReason", field(graph, "resultReason").clone());
            put(
                "TargetResources",
                dynamic_column(field(graph, "targetResources")),
            );
            put("AADTenantId", json!(tenant_id));
            put(
                "ActivityDisplayName",
                field(graph, "activityDisplayName").clone(),
            );
            put("ActivityDateTime", field(graph, "activityDateTime").clone());
            put("AADOperationType", field(graph, "operationType").clone());
            put("Type", json!("AuditLogs"));
        }
        LogKind::SignIn => {
            let status = field(graph, "status");
            let location = field(graph, "location");
            let interactive = is_interactive(graph);
            put("TimeGenerated", field(graph, "createdDateTime").clone());
            put("CreatedDateTime", field(graph, "createdDateTime").clone());
            put("Id", field(graph, "id").clone());
            put("OperationName", json!("Sign-in activity"));
            put(
                "Category",
                json!(if interactive {
                    "SignInLogs"
                } else {
                    "NonInteractiveUserSignInLogs"
                }),
            );
            put(
                "ResultType",
                json!(field(status, "errorCode").as_i64().unwrap_or(0).to_string()),
            );
            put("ResultDescription", field(status, "failureReason").clone());
            for (column, key) in [
                ("UserPrincipalName", "userPrincipalName"),
                ("UserDisplayName", "userDisplayName"),
                ("UserId", "userId"),
                ("UserType", "userType"),
                ("AppDisplayName", "appDisplayName"),
                ("AppId", "appId"),
                ("ResourceDisplayName", "resourceDisplayName"),
                ("ResourceId", "resourceId"),
                ("IPAddress", "ipAddress"),
                ("AuthenticationRequirement", "authenticationRequirement"),
                ("ConditionalAccessStatus", "conditionalAccessStatus"),
                ("IsInteractive", "isInteractive"),
                ("RiskLevelDuringSignIn", "riskLevelDuringSignIn"),
                ("RiskLevelAggregated", "riskLevelAggregated"),
                ("RiskState", "riskState"),
                ("RiskDetail", "riskDetail"),
                ("ClientAppUsed", "clientAppUsed"),
                ("CorrelationId", "correlationId"),
                ("AuthenticationProtocol", "authenticationProtocol"),
            ] {
                put(column, field(graph, key).clone());
            }
            put("Location", field(location, "countryOrRegion").clone());
            put("LocationDetails", dynamic_column(location));
            put("Status", dynamic_column(status));
            put("DeviceDetail", dynamic_column(field(graph, "deviceDetail")));
            put(
                "AuthenticationDetails",
                dynamic_column(field(graph, "authenticationDetails")),
            );
            put("MfaDetail", dynamic_column(field(graph, "mfaDetail")));
            put(
                "Type",
                json!(if interactive {
                    "SigninLogs"
                } else {
                    "AADNonInteractiveUserSignInLogs"
                }),
            );
        }
    }
    Value::Object(row)
}

/// Writes Graph objects of any resource as pages of [`PAGE_SIZE`] linked by
/// `@odata.nextLink`: `<stem>-00001.json`, `<stem>-00002.json`, …
pub struct GraphPageWriter {
    dir: PathBuf,
    stem: String,
    context: String,
    page: Vec<Value>,
    pages_written: usize,
    files: Vec<(PathBuf, u64)>,
    records: u64,
}

impl GraphPageWriter {
    /// `context` is the `@odata.context` URL of the resource.
    pub fn new(dir: &Path, stem: &str, context: &str) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            stem: stem.to_string(),
            context: context.to_string(),
            page: Vec::new(),
            pages_written: 0,
            files: Vec::new(),
            records: 0,
        })
    }

    pub fn write(&mut self, object: Value) -> io::Result<()> {
        self.records += 1;
        self.page.push(object);
        if self.page.len() >= PAGE_SIZE {
            self.flush_page(true)?;
        }
        Ok(())
    }

    fn flush_page(&mut self, more: bool) -> io::Result<()> {
        if self.page.is_empty() && self.pages_written > 0 {
            return Ok(());
        }
        self.pages_written += 1;
        let number = self.pages_written;
        let count = self.page.len() as u64;
        let mut page = json!({
            "@odata.context": self.context,
            "value": std::mem::take(&mut self.page),
        });
        if more {
            page["@odata.nextLink"] = json!(format!(
                "https://graph.microsoft.com/v1.0/{}?$skiptoken=page{}",
                self.stem,
                number + 1
            ));
        }
        let path = self.dir.join(format!("{}-{number:05}.json", self.stem));
        let mut file = BufWriter::new(File::create(&path)?);
        serde_json::to_writer(&mut file, &page)?;
        file.flush()?;
        self.files.push((path, count));
        Ok(())
    }

    /// Writes the last page and returns each file with its record count, and the total.
    pub fn finish(mut self) -> io::Result<(Vec<(PathBuf, u64)>, u64)> {
        self.flush_page(false)?;
        Ok((self.files, self.records))
    }
}

/// Writes objects of one log to a folder in one channel's format, streaming.
pub struct ChannelWriter {
    channel: Channel,
    kind: LogKind,
    tenant_id: String,
    dir: PathBuf,
    pages: Option<GraphPageWriter>,
    lines: Option<(PathBuf, BufWriter<File>)>,
    blobs: BTreeMap<PathBuf, BufWriter<File>>,
    blob_counts: BTreeMap<PathBuf, u64>,
    files: Vec<(PathBuf, u64)>,
    records: u64,
}

/// Hourly blobs kept open at once (a day's worth, with room).
const OPEN_BLOBS: usize = 48;

impl ChannelWriter {
    pub fn new(channel: Channel, kind: LogKind, tenant_id: &str, dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let pages = match channel {
            Channel::Graph => Some(GraphPageWriter::new(
                dir,
                kind.file_stem(),
                kind.graph_context(),
            )?),
            _ => None,
        };
        Ok(Self {
            channel,
            kind,
            tenant_id: tenant_id.to_string(),
            dir: dir.to_path_buf(),
            pages,
            lines: None,
            blobs: BTreeMap::new(),
            blob_counts: BTreeMap::new(),
            files: Vec::new(),
            records: 0,
        })
    }

    pub fn write(&mut self, graph: &Value) -> io::Result<()> {
        self.records += 1;
        match self.channel {
            Channel::Graph => match self.pages.as_mut() {
                Some(pages) => pages.write(graph.clone()),
                None => Ok(()),
            },
            Channel::Eventhub => {
                let record = to_event_hub(self.kind, &self.tenant_id, graph);
                self.write_blob_line(&record)
            }
            Channel::LogAnalytics => {
                let row = to_log_analytics(self.kind, &self.tenant_id, graph);
                let table = match self.kind {
                    LogKind::DirectoryAudit => "AuditLogs",
                    LogKind::SignIn => "SigninLogs",
                };
                self.write_line(&row, table)
            }
        }
    }

    fn write_line(&mut self, record: &Value, name: &str) -> io::Result<()> {
        if self.lines.is_none() {
            let path = self
                .dir
                .join(format!("{name}-{}.json", self.kind.file_stem()));
            let file = BufWriter::new(File::create(&path)?);
            self.lines = Some((path, file));
        }
        if let Some((_, lines)) = self.lines.as_mut() {
            serde_json::to_writer(&mut *lines, record)?;
            lines.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Appends a record to the hourly storage blob its time and category belong to, laid out
    /// as diagnostic settings write them:
    /// `insights-logs-<category>/resourceId=/tenants/<id>/providers/Microsoft.aadiam/y=…/m=…/d=…/h=…/m=00/PT1H.json`.
    fn write_blob_line(&mut self, record: &Value) -> io::Result<()> {
        let time = record
            .get("time")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (date, hour) = (
            time.get(0..10).unwrap_or("1970-01-01"),
            time.get(11..13).unwrap_or("00"),
        );
        let category = record
            .get("category")
            .and_then(Value::as_str)
            .unwrap_or("AuditLogs")
            .to_ascii_lowercase();
        let path = self
            .dir
            .join(format!("insights-logs-{category}"))
            .join(
                format!(
                    "resourceId=/tenants/{}/providers/Microsoft.aadiam",
                    self.tenant_id
                )
                .trim_start_matches('/'),
            )
            .join(format!(
                "y={}/m={}/d={}/h={hour}/m=00/PT1H.json",
                date.get(0..4).unwrap_or("1970"),
                date.get(5..7).unwrap_or("01"),
                date.get(8..10).unwrap_or("01")
            ));
        if !self.blobs.contains_key(&path) {
            if self.blobs.len() >= OPEN_BLOBS {
                // Close them all; a later record for one of them reopens it to append.
                for (_, mut blob) in std::mem::take(&mut self.blobs) {
                    blob.flush()?;
                }
            }
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            let file = File::options().create(true).append(true).open(&path)?;
            self.blobs.insert(path.clone(), BufWriter::new(file));
        }
        if let Some(blob) = self.blobs.get_mut(&path) {
            serde_json::to_writer(&mut *blob, record)?;
            blob.write_all(b"\n")?;
        }
        *self.blob_counts.entry(path).or_insert(0) += 1;
        Ok(())
    }

    /// Writes what is buffered; returns each file with its record count, and the total.
    pub fn finish(mut self) -> io::Result<(Vec<(PathBuf, u64)>, u64)> {
        if let Some(pages) = self.pages.take() {
            let (files, _) = pages.finish()?;
            self.files.extend(files);
        }
        for (_, mut blob) in std::mem::take(&mut self.blobs) {
            blob.flush()?;
        }
        self.files.extend(std::mem::take(&mut self.blob_counts));
        if let Some((path, mut lines)) = self.lines.take() {
            lines.flush()?;
            // One line file per log and channel: it holds every record.
            self.files.push((path, self.records));
        }
        Ok((self.files, self.records))
    }
}
