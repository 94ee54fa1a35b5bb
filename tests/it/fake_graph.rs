//! A fake Microsoft Graph for the pull tests, on a loopback port the test starts: a token
//! endpoint (`/<tenant>/oauth2/v2.0/token`, client credentials), and the collections of a
//! generated tenant with real paging (`$top`, `@odata.nextLink` with `$skiptoken`), `$filter`
//! on the time field (`ge`, `lt`) and on `groupId`, and injected faults: 429 and 503 with or
//! without `Retry-After`, a page that fails for good, a 403, a token that expires.
//!
//! Records are kept as JSON text, events sorted by their time, so a page costs a binary search
//! and a copy: the fake serves a 50,000-user tenant faster than pimwatch ingests it
//! (`benches/pull.rs` shares this file to measure `pull` at scale).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const CLIENT: &str = "66666666-7777-8888-9999-000000000000";
pub const SECRET: &str = "client-SECRET-value~0123456789";
/// The federated token (as Kubernetes writes it to a file) the fake accepts as the client
/// assertion.
/// What the fake's managed identity endpoint (`/msi/token`, as App Service serves it) wants in
/// `X-IDENTITY-HEADER`.
pub const IDENTITY_HEADER: &str = "identity-header-0123";
pub const FEDERATED_TOKEN: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cGltd2F0Y2gifQ.c2ln";

/// A fault served instead of the page: for requests whose path contains `path`, after letting
/// `skip` of them through, `times` times.
#[derive(Debug, Clone)]
pub struct Fault {
    pub path: &'static str,
    pub skip: u32,
    pub times: u32,
    pub status: u16,
    pub retry_after: Option<u32>,
}

/// One record as served: its JSON text, and what filters read.
struct Item {
    /// The time field, in nanoseconds (events only).
    time: Option<i64>,
    group_id: Option<String>,
    json: String,
}

struct Collection {
    context: String,
    time_field: Option<&'static str>,
    /// Sorted by `time` (events).
    items: Vec<Item>,
}

#[derive(Default)]
struct State {
    collections: BTreeMap<String, Collection>,
    faults: Vec<Fault>,
    forbidden: Option<&'static str>,
    /// Where next-page links point instead of this server (a hostile or broken proxy).
    link_base: Option<String>,
    /// Data requests after which the current token stops working (once).
    expire_token_after: Option<u32>,
    token: String,
    tokens_issued: u32,
    data_requests: u32,
    page_size: usize,
}

pub struct FakeGraph {
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// The generator's file prefix → (Graph path after the version, time field).
const COLLECTIONS: &[(&str, &str, Option<&str>)] = &[
    (
        "directoryAudits",
        "auditLogs/directoryAudits",
        Some("activityDateTime"),
    ),
    ("signIns", "auditLogs/signIns", Some("createdDateTime")),
    ("users", "users", None),
    ("servicePrincipals", "servicePrincipals", None),
    ("groups", "groups", None),
    (
        "roleDefinitions",
        "roleManagement/directory/roleDefinitions",
        None,
    ),
    ("directoryRoles", "directoryRoles", None),
    (
        "roleAssignmentScheduleInstances",
        "roleManagement/directory/roleAssignmentScheduleInstances",
        None,
    ),
    (
        "roleEligibilityScheduleInstances",
        "roleManagement/directory/roleEligibilityScheduleInstances",
        None,
    ),
    (
        "roleManagementPolicyAssignments",
        "policies/roleManagementPolicyAssignments",
        None,
    ),
    (
        "groupEligibilityScheduleInstances",
        "identityGovernance/privilegedAccess/group/eligibilityScheduleInstances",
        None,
    ),
    (
        "groupAssignmentScheduleInstances",
        "identityGovernance/privilegedAccess/group/assignmentScheduleInstances",
        None,
    ),
];

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_map(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

impl FakeGraph {
    /// Serves the generated tenant in `logs` (Graph pages), `page_size` records a page.
    pub fn start(logs: &Path, page_size: usize) -> Self {
        let mut collections = BTreeMap::new();
        for (_, path, time_field) in COLLECTIONS {
            collections.insert(
                path.to_string(),
                Collection {
                    context: format!("https://graph.microsoft.com/v1.0/$metadata#{path}"),
                    time_field: *time_field,
                    items: Vec::new(),
                },
            );
        }
        let mut files = Vec::new();
        let mut stack = vec![logs.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("logs")
                .filter_map(Result::ok)
            {
                let file = entry.path();
                if file.is_dir() {
                    stack.push(file);
                } else {
                    files.push(file);
                }
            }
        }
        // State is served as it stands now: from the newest `snapshot=` folder only (the
        // generator also exports the policies as they were before the period).
        let snapshot_of = |file: &Path| {
            file.ancestors()
                .filter_map(|a| a.file_name()?.to_str())
                .find(|n| n.starts_with("snapshot="))
                .map(str::to_string)
        };
        let newest = files.iter().filter_map(|f| snapshot_of(f)).max();
        for file in files {
            if snapshot_of(&file).is_some_and(|s| Some(&s) != newest.as_ref()) {
                continue;
            }
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Some((_, path, _)) = COLLECTIONS
                .iter()
                .find(|(prefix, _, _)| name.starts_with(&format!("{prefix}-")))
            else {
                continue;
            };
            let page: Value =
                serde_json::from_slice(&std::fs::read(&file).expect("page")).expect("json");
            let collection = collections.get_mut(*path).expect("known");
            if let Some(context) = page["@odata.context"].as_str() {
                collection.context = context.to_string();
            }
            let time_field = collection.time_field.unwrap_or("");
            for item in page["value"].as_array().into_iter().flatten() {
                collection.items.push(Item {
                    time: item[time_field]
                        .as_str()
                        .and_then(|t| pimwatch::model::Instant::parse(t).ok())
                        .map(|t| t.nanos()),
                    group_id: item["groupId"].as_str().map(str::to_string),
                    json: item.to_string(),
                });
            }
        }
        for collection in collections.values_mut() {
            collection.items.sort_by_key(|item| item.time);
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State {
            collections,
            token: "token-0".into(),
            page_size,
            ..Default::default()
        }));
        let served = state.clone();
        let base = url.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().filter_map(Result::ok) {
                let state = served.clone();
                let base = base.clone();
                std::thread::spawn(move || serve(stream, &state, &base));
            }
        });
        Self { url, state }
    }

    pub fn fault(&self, fault: Fault) {
        self.state.lock().expect("state").faults.push(fault);
    }

    pub fn forbid(&self, path: &'static str) {
        self.state.lock().expect("state").forbidden = Some(path);
    }

    /// Next-page links point at `base` instead of this server.
    pub fn send_links_to(&self, base: &str) {
        self.state.lock().expect("state").link_base = Some(base.to_string());
    }

    pub fn expire_token_after(&self, requests: u32) {
        self.state.lock().expect("state").expire_token_after = Some(requests);
    }

    pub fn tokens_issued(&self) -> u32 {
        self.state.lock().expect("state").tokens_issued
    }

    /// Records served by a collection (what a complete pull reads).
    pub fn count(&self, path: &str) -> usize {
        self.state.lock().expect("state").collections[path]
            .items
            .len()
    }
}

/// A client assertion signed with the test certificate's key, for this token endpoint and
/// client, not expired, naming the certificate by its thumbprint.
fn certificate_assertion_is_valid(jwt: &str, base: &str) -> bool {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/graph");
    let (Ok(public_key), Ok(thumbprint)) = (
        std::fs::read(data.join("test-client-public-key.der")),
        std::fs::read_to_string(data.join("test-client-certificate.x5t")),
    ) else {
        return false;
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return false;
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok();
    let (Some(header_json), Some(claims_json), Some(signature)) =
        (decode(header), decode(claims), decode(signature))
    else {
        return false;
    };
    let signed = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key,
    )
    .verify(format!("{header}.{claims}").as_bytes(), &signature)
    .is_ok();
    let header: Value = serde_json::from_slice(&header_json).unwrap_or_default();
    let claims: Value = serde_json::from_slice(&claims_json).unwrap_or_default();
    let now = pimwatch::model::Instant::now().nanos() / 1_000_000_000;
    signed
        && header["alg"] == "RS256"
        && header["x5t"] == thumbprint.trim()
        && claims["aud"] == format!("{base}/{TENANT}/oauth2/v2.0/token")
        && claims["iss"] == CLIENT
        && claims["sub"] == CLIENT
        && claims["exp"].as_i64().is_some_and(|exp| exp > now)
        && claims["jti"].is_string()
}

fn respond(stream: &mut std::net::TcpStream, status: u16, headers: &str, body: &Value) {
    respond_text(stream, status, headers, &body.to_string());
}

fn respond_text(stream: &mut std::net::TcpStream, status: u16, headers: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n{body}",
        body.len()
    );
}

fn serve(mut stream: std::net::TcpStream, state: &Mutex<State>, base: &str) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut state = state.lock().expect("state");

    if method == "POST" && path == format!("/{TENANT}/oauth2/v2.0/token") {
        let form = query_map(&String::from_utf8_lossy(&body));
        let secret_ok = form.get("client_secret").map(String::as_str) == Some(SECRET);
        let assertion = form.get("client_assertion").map(String::as_str);
        let assertion_ok = form.get("client_assertion_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            && (assertion == Some(FEDERATED_TOKEN)
                || assertion.is_some_and(|jwt| certificate_assertion_is_valid(jwt, base)));
        if form.get("client_id").map(String::as_str) != Some(CLIENT)
            || !(secret_ok || assertion_ok)
            || form.get("grant_type").map(String::as_str) != Some("client_credentials")
            || form.get("scope").map(String::as_str) != Some(&format!("{base}/.default"))
        {
            respond(
                &mut stream,
                401,
                "",
                &json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}),
            );
            return;
        }
        state.tokens_issued += 1;
        state.token = format!("token-{}", state.tokens_issued);
        let token = state.token.clone();
        respond(
            &mut stream,
            200,
            "",
            &json!({"token_type": "Bearer", "expires_in": 3599, "access_token": token}),
        );
        return;
    }

    if method == "GET" && path == "/msi/token" {
        let query = query_map(query);
        if headers.get("x-identity-header").map(String::as_str) != Some(IDENTITY_HEADER)
            || query.get("resource").map(String::as_str) != Some(base)
            || query.get("api-version").map(String::as_str) != Some("2019-08-01")
        {
            respond(&mut stream, 400, "", &json!({"error": "invalid_request"}));
            return;
        }
        state.tokens_issued += 1;
        state.token = format!("token-{}", state.tokens_issued);
        let token = state.token.clone();
        // App Service answers expires_in as a string.
        respond(
            &mut stream,
            200,
            "",
            &json!({"access_token": token, "expires_in": "3599", "resource": base, "token_type": "Bearer"}),
        );
        return;
    }

    let Some(resource) = path
        .strip_prefix("/v1.0/")
        .or_else(|| path.strip_prefix("/beta/"))
    else {
        respond(
            &mut stream,
            404,
            "",
            &json!({"error": {"message": "no such path"}}),
        );
        return;
    };
    if headers.get("authorization") != Some(&format!("Bearer {}", state.token)) {
        respond(
            &mut stream,
            401,
            "",
            &json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid."}}),
        );
        return;
    }
    state.data_requests += 1;
    if state.expire_token_after == Some(state.data_requests) {
        state.expire_token_after = None;
        state.token = "expired".into();
    }
    if state.forbidden.is_some_and(|f| resource.contains(f)) {
        respond(
            &mut stream,
            403,
            "",
            &json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}),
        );
        return;
    }
    if let Some(fault) = state
        .faults
        .iter_mut()
        .find(|f| resource.contains(f.path) && f.times > 0)
    {
        if fault.skip > 0 {
            fault.skip -= 1;
        } else {
            fault.times -= 1;
            let headers = fault
                .retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            let status = fault.status;
            respond(
                &mut stream,
                status,
                &headers,
                &json!({"error": {"code": "fault", "message": "injected"}}),
            );
            return;
        }
    }
    let Some(collection) = state.collections.get(resource) else {
        respond(
            &mut stream,
            404,
            "",
            &json!({"error": {"message": "no such collection"}}),
        );
        return;
    };
    let query = query_map(query);
    let filter = query.get("$filter").cloned().unwrap_or_default();
    let bound = |op: &str| -> Option<String> {
        let field = collection.time_field?;
        let marker = format!("{field} {op} ");
        let start = filter.find(&marker)? + marker.len();
        Some(filter[start..].split_whitespace().next()?.to_string())
    };
    let (from, to) = (bound("ge"), bound("lt"));
    let group = filter
        .strip_prefix("groupId eq '")
        .and_then(|g| g.strip_suffix('\''))
        .map(str::to_string);
    if resource.starts_with("identityGovernance/") && group.is_none() {
        respond(
            &mut stream,
            400,
            "",
            &json!({"error": {"code": "BadRequest", "message": "groupId or principalId filter required"}}),
        );
        return;
    }
    let nanos = |t: &str| pimwatch::model::Instant::parse(t).map(|t| t.nanos()).ok();
    let (from, to) = (
        from.as_deref().and_then(nanos),
        to.as_deref().and_then(nanos),
    );
    // Items are sorted by time: a window is a range (records without a time fall outside
    // any bounded window, as they sort first).
    let items = &collection.items;
    let lower = from.map_or(0, |f| {
        items.partition_point(|i| i.time.is_none_or(|t| t < f))
    });
    let upper = to.map_or(items.len(), |end| {
        items.partition_point(|i| i.time.is_none_or(|t| t < end))
    });
    let kept: Vec<&Item> = items[lower..upper.max(lower)]
        .iter()
        .filter(|item| to.is_none() || item.time.is_some())
        .filter(|item| {
            group
                .as_deref()
                .is_none_or(|g| item.group_id.as_deref() == Some(g))
        })
        .collect();
    let top: usize = query
        .get("$top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(100)
        .min(state.page_size);
    let offset: usize = query
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let page: Vec<&str> = kept
        .iter()
        .skip(offset)
        .take(top)
        .map(|item| item.json.as_str())
        .collect();
    let mut response = format!(
        "{{\"@odata.context\":{},\"value\":[{}]",
        Value::from(collection.context.as_str()),
        page.join(",")
    );
    if offset + top < kept.len() {
        let mut next: Vec<String> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "$skiptoken")
            .map(|(k, v)| format!("{k}={}", pimwatch::pull::encode(v)))
            .collect();
        next.push(format!("$skiptoken={}", offset + top));
        let base = state.link_base.as_deref().unwrap_or(base);
        let link = format!("{base}{path}?{}", next.join("&"));
        response.push_str(&format!(",\"@odata.nextLink\":{}", Value::from(link)));
    }
    response.push('}');
    drop(state);
    respond_text(&mut stream, 200, "", &response);
}
