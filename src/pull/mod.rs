//! `pimwatch pull`: Microsoft Graph into the lake, incrementally. Every page goes through an
//! [`IngestSession`] like a file. Event endpoints are read in a window `[watermark − overlap,
//! now − lag)` with `$filter` on their time field, following `@odata.nextLink` to the end; the
//! endpoint's watermark moves only after the window's rows are committed, so a pull killed
//! midway resumes from its checkpoint with no gap (and dedupe leaves no duplicate). State
//! endpoints are taken whole, as one snapshot stamped with the pull's start. The first pull
//! backfills `backfill_days` (default 30).

mod certificate;
mod client;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ingest::{Document, IngestError, IngestOptions, IngestSession};
use crate::lake::{Lake, LakeError, LAKE_DIR};
use crate::model::Instant;

pub use client::{encode, Credential, GraphClient, GraphError, Settings};

const CHECKPOINT: &str = "pull.json";
const DEFAULT_BACKFILL_DAYS: u32 = 30;
const DEFAULT_OVERLAP_MINUTES: u32 = 15;
const DEFAULT_LAG_MINUTES: u32 = 5;
const PAGE_SIZE: u32 = 999;

/// What an endpoint holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Events, filtered by this time field.
    Events(&'static str),
    /// State, taken whole.
    State,
    /// State per role-assignable group (PIM for Groups requires a `groupId` filter).
    PerGroup,
}

/// One Graph endpoint pimwatch reads.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// Names its watermark and its pages.
    pub name: &'static str,
    /// The path with its version and query.
    pub path: &'static str,
    pub shape: Shape,
    /// The application permission it needs.
    pub permission: &'static str,
    /// Why pimwatch reads it (docs/graph-setup.md lists these).
    pub why: &'static str,
}

/// Every endpoint, in the order pulled (groups before what is filtered by group).
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        name: "directoryAudits",
        path: "/v1.0/auditLogs/directoryAudits",
        shape: Shape::Events("activityDateTime"),
        permission: "AuditLog.Read.All",
        why: "PIM activations, approvals, assignments and role changes made outside PIM",
    },
    Endpoint {
        name: "signIns",
        // beta: v1.0 lists interactive sign-ins only; the beta signInEventTypes give the
        // non-interactive, service principal and managed identity ones.
        path: "/beta/auditLogs/signIns",
        shape: Shape::Events("createdDateTime"),
        permission: "AuditLog.Read.All",
        why: "MFA performed before activations, sign-in failures and countries",
    },
    Endpoint {
        name: "users",
        path: "/v1.0/users?$select=id,displayName,userPrincipalName,userType,accountEnabled,onPremisesSyncEnabled,onPremisesImmutableId,createdDateTime,signInActivity",
        shape: Shape::State,
        permission: "User.Read.All and AuditLog.Read.All (signInActivity)",
        why: "who holds roles: guests, disabled and synced accounts, last successful sign-in",
    },
    Endpoint {
        name: "servicePrincipals",
        path: "/v1.0/servicePrincipals",
        shape: Shape::State,
        permission: "Application.Read.All",
        why: "apps holding roles, and PIM's own service principal (MS-PIM) by its application id",
    },
    Endpoint {
        name: "groups",
        path: "/v1.0/groups?$filter=isAssignableToRole eq true&$select=id,displayName,isAssignableToRole,securityEnabled,groupTypes&$expand=members",
        shape: Shape::State,
        permission: "GroupMember.Read.All",
        why: "role-assignable groups and their members, who hold the groups' roles",
    },
    Endpoint {
        name: "roleDefinitions",
        path: "/v1.0/roleManagement/directory/roleDefinitions",
        shape: Shape::State,
        permission: "RoleManagement.Read.Directory",
        why: "built-in and custom roles, and what custom roles may do",
    },
    Endpoint {
        name: "directoryRoles",
        path: "/v1.0/directoryRoles",
        shape: Shape::State,
        permission: "RoleManagement.Read.Directory",
        why: "the tenant's role object ids, which Core Directory events name",
    },
    Endpoint {
        name: "roleAssignmentScheduleInstances",
        path: "/v1.0/roleManagement/directory/roleAssignmentScheduleInstances",
        shape: Shape::State,
        permission: "RoleAssignmentSchedule.Read.Directory",
        why: "active role assignments: standing, activated, made outside PIM",
    },
    Endpoint {
        name: "roleEligibilityScheduleInstances",
        path: "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
        shape: Shape::State,
        permission: "RoleEligibilitySchedule.Read.Directory",
        why: "eligible role assignments",
    },
    Endpoint {
        name: "roleManagementPolicyAssignments",
        path: "/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'&$expand=policy($expand=rules)",
        shape: Shape::State,
        permission: "RoleManagementPolicy.Read.Directory",
        why: "each role's PIM settings: MFA, justification, approval, durations, notifications",
    },
    Endpoint {
        name: "groupEligibilityScheduleInstances",
        path: "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances",
        shape: Shape::PerGroup,
        permission: "PrivilegedEligibilitySchedule.Read.AzureADGroup",
        why: "PIM for Groups eligible members of role-assignable groups",
    },
    Endpoint {
        name: "groupAssignmentScheduleInstances",
        path: "/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleInstances",
        shape: Shape::PerGroup,
        permission: "PrivilegedAssignmentSchedule.Read.AzureADGroup",
        why: "PIM for Groups active members of role-assignable groups",
    },
];

/// Where the watermarks are kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    /// Per event endpoint, the end of the last window committed (RFC 3339).
    pub watermarks: BTreeMap<String, String>,
}

impl Checkpoint {
    fn path(lake: &Lake) -> PathBuf {
        lake.root().join(LAKE_DIR).join(CHECKPOINT)
    }

    pub fn load(lake: &Lake) -> Result<Self, PullError> {
        let path = Self::path(lake);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| PullError::Checkpoint {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(PullError::Checkpoint {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Written whole or not at all.
    fn save(&self, lake: &Lake) -> Result<(), PullError> {
        let path = Self::path(lake);
        let fail = |reason: String| PullError::Checkpoint {
            path: path.clone(),
            reason,
        };
        let temp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| fail(e.to_string()))?;
        std::fs::File::create(&temp)
            .and_then(|mut f| {
                f.write_all(&bytes)?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&temp, &path))
            .map_err(|e| fail(e.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("the pull checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("{endpoint}: Graph's next page link leaves {graph_url}; not followed (the token would go with it)")]
    ForeignNextLink { endpoint: String, graph_url: String },
    #[error("{path}: {source}")]
    SaveRaw {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    pub backfill_days: u32,
    pub overlap_minutes: u32,
    pub lag_minutes: u32,
    /// Keep every page, gzip-compressed, so the pull can be replayed with `ingest`.
    pub save_raw: Option<PathBuf>,
    /// Wait for another writer instead of failing.
    pub wait: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            backfill_days: DEFAULT_BACKFILL_DAYS,
            overlap_minutes: DEFAULT_OVERLAP_MINUTES,
            lag_minutes: DEFAULT_LAG_MINUTES,
            save_raw: None,
            wait: false,
        }
    }
}

/// One endpoint's part of a pull.
#[derive(Debug, Clone, Default)]
pub struct EndpointReport {
    pub name: String,
    pub pages: u64,
    pub records: u64,
    pub rows_added: u64,
    pub quarantined: u64,
    /// The window read, for event endpoints.
    pub window: Option<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct PullReport {
    pub endpoints: Vec<EndpointReport>,
    pub requests: u64,
    pub retries: u64,
    pub seconds: f64,
}

#[derive(Deserialize)]
struct GroupPage {
    #[serde(default)]
    value: Vec<GroupId>,
}

#[derive(Deserialize)]
struct GroupId {
    id: Option<String>,
}

/// Pulls every endpoint into the lake; `progress` hears each endpoint as it is committed.
pub fn pull(
    lake: &Lake,
    client: &mut GraphClient,
    options: &PullOptions,
    progress: &mut dyn FnMut(&EndpointReport),
) -> Result<PullReport, PullError> {
    let started = std::time::Instant::now();
    let now = Instant::now();
    let snapshot_time = now.truncate_to_second();
    let mut checkpoint = Checkpoint::load(lake)?;
    let mut session = IngestSession::new(
        lake,
        "pull",
        &IngestOptions {
            wait: options.wait,
            ..Default::default()
        },
    )?;
    let mut report = PullReport::default();
    let mut group_ids: Vec<String> = Vec::new();
    let window_end =
        Instant::from_nanos(now.nanos() - i64::from(options.lag_minutes) * 60_000_000_000)
            .truncate_to_second();
    for endpoint in ENDPOINTS {
        let (path, query) = endpoint.path.split_once('?').unwrap_or((endpoint.path, ""));
        let base = format!("{}{path}", client.graph_url().trim_end_matches('/'));
        let query = encode_query(query);
        let mut part = EndpointReport {
            name: endpoint.name.to_string(),
            ..Default::default()
        };
        let urls: Vec<String> = match endpoint.shape {
            Shape::Events(field) => {
                let start = match checkpoint.watermarks.get(endpoint.name) {
                    Some(mark) => Instant::parse(mark)
                        .map(|m| {
                            Instant::from_nanos(
                                m.nanos() - i64::from(options.overlap_minutes) * 60_000_000_000,
                            )
                        })
                        .unwrap_or(Instant::MIN),
                    None => now
                        .days_before(options.backfill_days)
                        .unwrap_or(Instant::MIN),
                };
                let (from, to) = (start.to_rfc3339(), window_end.to_rfc3339());
                part.window = Some((from.clone(), to.clone()));
                let mut filter = format!("{field} ge {from} and {field} lt {to}");
                if endpoint.name == "signIns" {
                    filter.push_str(" and (signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser' or t eq 'servicePrincipal' or t eq 'managedIdentity'))");
                }
                vec![format!(
                    "{base}?$filter={}&$top={PAGE_SIZE}",
                    encode(&filter)
                )]
            }
            Shape::State if query.is_empty() => vec![format!("{base}?$top={PAGE_SIZE}")],
            Shape::State => vec![format!("{base}?{query}&$top={PAGE_SIZE}")],
            Shape::PerGroup => group_ids
                .iter()
                .map(|id| format!("{base}?$filter={}", encode(&format!("groupId eq '{id}'"))))
                .collect(),
        };
        for first in urls {
            let mut body = client.get(&first, endpoint.name, endpoint.permission)?;
            loop {
                part.pages += 1;
                if endpoint.name == "groups" {
                    if let Ok(page) = serde_json::from_slice::<GroupPage>(&body) {
                        group_ids.extend(page.value.into_iter().filter_map(|g| g.id));
                    }
                }
                let next_link = top_level_string(&body, "@odata.nextLink");
                if let Some(link) = &next_link {
                    let graph_url = client.graph_url().trim_end_matches('/');
                    if !link.starts_with(&format!("{graph_url}/")) {
                        return Err(PullError::ForeignNextLink {
                            endpoint: endpoint.name.to_string(),
                            graph_url: graph_url.to_string(),
                        });
                    }
                }
                let name = format!("graph:{}#{}", endpoint.name, part.pages);
                if let Some(dir) = &options.save_raw {
                    save_raw(dir, endpoint.name, part.pages, now, &body)?;
                }
                let document = Document {
                    name,
                    snapshot_time,
                    odata_context: None,
                };
                // The next page is fetched while this one is ingested, so that the network
                // and the ingest overlap rather than take turns.
                let (file, fetched) = std::thread::scope(|scope| {
                    let fetch = next_link.as_deref().map(|url| {
                        let client = &mut *client;
                        scope.spawn(move || client.get(url, endpoint.name, endpoint.permission))
                    });
                    let file = session.add_document(&document, std::io::Cursor::new(body));
                    let fetched = fetch.map(|handle| {
                        handle
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    });
                    (file, fetched)
                });
                let file = file?;
                part.records += file.records;
                part.rows_added += file.rows_added;
                part.quarantined += file.quarantined;
                match fetched {
                    Some(next) => body = next?,
                    None => break,
                }
            }
        }
        // The window's rows are durable before its watermark moves.
        session.commit()?;
        if let Shape::Events(_) = endpoint.shape {
            checkpoint
                .watermarks
                .insert(endpoint.name.to_string(), window_end.to_rfc3339());
            checkpoint.save(lake)?;
        }
        progress(&part);
        report.endpoints.push(part);
    }
    session.finish()?;
    report.requests = client.requests;
    report.retries = client.retries;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The string value of the top-level `key` of the JSON object in `body` (`@odata.nextLink`),
/// found without parsing the page: nested objects, arrays and strings are stepped over by
/// their brackets and quotes, so a key inside a record never matches. A page is read whole by
/// the ingest anyway; this keeps the link from costing a second parse of every page.
fn top_level_string(body: &[u8], key: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => {
                let start = i + 1;
                i = start;
                while i < body.len() && body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(body.len());
                i += 1;
                if depth == 1 && &body[start..end] == key.as_bytes() {
                    let rest = body.get(i..)?;
                    let colon = rest.iter().position(|b| !b.is_ascii_whitespace())?;
                    if rest[colon] == b':' {
                        let mut value = serde_json::Deserializer::from_slice(&rest[colon + 1..]);
                        return Option::<String>::deserialize(&mut value).ok().flatten();
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// A query string with each value percent-encoded (`$filter=a eq 'b'` →
/// `$filter=a%20eq%20%27b%27`).
fn encode_query(query: &str) -> String {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => format!("{key}={}", encode(value)),
            None => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `DIR/<pull time>/<endpoint>-<page>.json.gz`: what `ingest DIR` replays.
fn save_raw(
    dir: &Path,
    endpoint: &str,
    page: u64,
    pulled: Instant,
    body: &[u8],
) -> Result<(), PullError> {
    let folder = dir.join(format!("snapshot={}", pulled.snapshot_name()));
    let path = folder.join(format!("{endpoint}-{page:05}.json.gz"));
    let fail = |source| PullError::SaveRaw {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&folder).map_err(fail)?;
    let file = std::fs::File::create(&path).map_err(fail)?;
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    encoder.write_all(body).map_err(fail)?;
    encoder.finish().map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::top_level_string;

    const LINK: &str = "@odata.nextLink";

    #[test]
    fn the_next_link_is_read_at_the_top_level_before_or_after_the_records() {
        let before = br#"{"@odata.context":"x","@odata.nextLink":"https://graph/v1.0/a?$skiptoken=1","value":[{"id":"1"}]}"#;
        assert_eq!(
            top_level_string(before, LINK).as_deref(),
            Some("https://graph/v1.0/a?$skiptoken=1")
        );
        let after = br#"{ "value" : [ {"id": "1"} ] ,
            "@odata.nextLink" : "https://graph/v1.0/a?$filter=x%20eq%20\"y\"" }"#;
        assert_eq!(
            top_level_string(after, LINK).as_deref(),
            Some("https://graph/v1.0/a?$filter=x%20eq%20\"y\"")
        );
    }

    #[test]
    fn a_link_inside_a_record_or_a_string_is_not_the_page_link() {
        let nested = br#"{"value":[{"@odata.nextLink":"https://evil/steal","note":"\"@odata.nextLink\":\"https://evil/2\""}]}"#;
        assert_eq!(top_level_string(nested, LINK), None);
        let last_page = br#"{"@odata.context":"x","value":[]}"#;
        assert_eq!(top_level_string(last_page, LINK), None);
        assert_eq!(top_level_string(br#"{"@odata.nextLink":null}"#, LINK), None);
        assert_eq!(top_level_string(b"{\"@odata.nextLink", LINK), None);
        assert_eq!(top_level_string(b"", LINK), None);
    }
}
