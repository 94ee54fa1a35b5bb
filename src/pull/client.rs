//! The Graph HTTP client: OAuth 2.0 client credentials (a client secret, or a federated token
//! as the client assertion), tokens cached until shortly before they expire, and the faults
//! Graph has: 429 and 503/504 honour `Retry-After` or back off exponentially with jitter within
//! a retry budget, 401 refreshes the token once, 403 names the permission the endpoint needs.
//! Tokens and secrets never appear in errors or logs.

use std::io::Read;
use std::time::Duration;

use serde::Deserialize;

use crate::model::Instant;

/// Requests may wait this long in total for retries in one pull.
const RETRY_BUDGET: Duration = Duration::from_secs(300);
const BACKOFF_BASE_MS: u64 = 500;
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A token is renewed this long before it expires.
const TOKEN_MARGIN_SECONDS: i64 = 300;
/// The largest page accepted (Graph pages of 999 records are a few MB).
const MAX_PAGE_BYTES: u64 = 512 << 20;

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("Graph settings: {0}")]
    Settings(String),
    #[error("getting a token from {endpoint}: {reason}")]
    Token { endpoint: String, reason: String },
    #[error("403 Forbidden on {endpoint}: the app needs the application permission {permission} (admin-consented); see docs/graph-setup.md")]
    Forbidden {
        endpoint: String,
        permission: String,
    },
    #[error("{endpoint}: {reason}")]
    Request { endpoint: String, reason: String },
    #[error("{endpoint}: gave up after waiting {waited:?} in retries (throttling or outages); the next pull resumes from the checkpoint")]
    RetryBudget { endpoint: String, waited: Duration },
}

/// How the app proves who it is.
#[derive(Clone)]
pub enum Credential {
    Secret(String),
    /// A federated token (a JWT from Kubernetes, GitHub Actions, …), read anew for each token.
    FederatedTokenFile(std::path::PathBuf),
    /// The Azure managed identity of the host (user-assigned when the client id is set).
    ManagedIdentity,
    /// A certificate: each token request carries a client assertion (a JWT) signed with its
    /// private key (RS256) and naming the certificate by its SHA-1 thumbprint (`x5t`).
    Certificate(super::certificate::Certificate),
}

/// The instance metadata service of Azure virtual machines.
const IMDS: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

#[derive(Clone)]
pub struct Settings {
    pub tenant_id: String,
    pub client_id: String,
    pub credential: Credential,
    /// `https://graph.microsoft.com` (or the national cloud's, or a test's).
    pub graph_url: String,
    /// `https://login.microsoftonline.com` (or the national cloud's, or a test's).
    pub login_url: String,
}

impl std::fmt::Debug for Settings {
    /// Without the credential: it is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("graph_url", &self.graph_url)
            .field("login_url", &self.login_url)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The settings from `[graph]`, overridden by the environment (`PIMWATCH_TENANT_ID`,
    /// `PIMWATCH_CLIENT_ID`, `PIMWATCH_CLIENT_SECRET`; `AZURE_FEDERATED_TOKEN_FILE` for
    /// workload identity federation) and by `--graph-url` / `--login-url`.
    pub fn resolve(
        config: &crate::config::GraphConfig,
        graph_url: Option<&str>,
        login_url: Option<&str>,
    ) -> Result<Self, GraphError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let managed = config.managed_identity;
        // A managed identity needs neither: the host knows them.
        let id = |variable: &str, key: Option<&String>, what: &str| {
            env(variable)
                .or_else(|| key.cloned())
                .or_else(|| managed.then(String::new))
                .ok_or_else(|| {
                    GraphError::Settings(format!("no {what}: set {variable} or [graph] {}", {
                        variable
                            .trim_start_matches("PIMWATCH_")
                            .to_ascii_lowercase()
                    }))
                })
        };
        let tenant_id = id("PIMWATCH_TENANT_ID", config.tenant_id.as_ref(), "tenant")?;
        let client_id = id(
            "PIMWATCH_CLIENT_ID",
            config.client_id.as_ref(),
            "application",
        )?;
        let credential = if managed {
            Credential::ManagedIdentity
        } else if let Some(secret) = env("PIMWATCH_CLIENT_SECRET") {
            Credential::Secret(secret)
        } else if let Some(path) = env("PIMWATCH_CLIENT_CERTIFICATE")
            .map(std::path::PathBuf::from)
            .or_else(|| config.client_certificate_file.clone())
        {
            Credential::Certificate(
                super::certificate::Certificate::load(&path).map_err(GraphError::Settings)?,
            )
        } else if let Some(path) = &config.client_secret_file {
            let secret = std::fs::read_to_string(path).map_err(|e| {
                GraphError::Settings(format!(
                    "reading client_secret_file {}: {e}",
                    path.display()
                ))
            })?;
            Credential::Secret(secret.trim().to_string())
        } else if let Some(path) = config
            .federated_token_file
            .clone()
            .or_else(|| env("AZURE_FEDERATED_TOKEN_FILE").map(std::path::PathBuf::from))
        {
            Credential::FederatedTokenFile(path)
        } else {
            return Err(GraphError::Settings(
                "no credential: set PIMWATCH_CLIENT_SECRET or PIMWATCH_CLIENT_CERTIFICATE, [graph] client_secret_file or client_certificate_file, a federated token file ([graph] federated_token_file or AZURE_FEDERATED_TOKEN_FILE), or [graph] managed_identity".into(),
            ));
        };
        let (graph, login) = match config.cloud.as_deref().unwrap_or("global") {
            "usgov" => (
                "https://graph.microsoft.us",
                "https://login.microsoftonline.us",
            ),
            "china" => (
                "https://microsoftgraph.chinacloudapi.cn",
                "https://login.chinacloudapi.cn",
            ),
            _ => (
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
            ),
        };
        Ok(Self {
            tenant_id,
            client_id,
            credential,
            graph_url: graph_url
                .or(config.graph_url.as_deref())
                .unwrap_or(graph)
                .trim_end_matches('/')
                .to_string(),
            login_url: login_url
                .or(config.login_url.as_deref())
                .unwrap_or(login)
                .trim_end_matches('/')
                .to_string(),
        })
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

pub struct GraphClient {
    agent: ureq::Agent,
    settings: Settings,
    token: Option<(String, Instant)>,
    waited: Duration,
    /// Requests made, retries and throttling responses (for the pull's report).
    pub requests: u64,
    pub retries: u64,
}

/// `application/x-www-form-urlencoded` and query values.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// At most `limit` bytes of a response's body (an error body is read for its message only).
fn read_body(response: ureq::http::Response<ureq::Body>, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(limit)
        .read_to_end(&mut body)?;
    Ok(body)
}

impl GraphClient {
    pub fn new(settings: Settings) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            agent,
            settings,
            token: None,
            waited: Duration::ZERO,
            requests: 0,
            retries: 0,
        }
    }

    pub fn graph_url(&self) -> &str {
        &self.settings.graph_url
    }

    fn token_endpoint(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.settings.login_url.trim_end_matches('/'),
            encode(&self.settings.tenant_id)
        )
    }

    /// A valid access token: the cached one, or a new one.
    fn token(&mut self) -> Result<String, GraphError> {
        if let Some((token, expires)) = &self.token {
            if Instant::now().nanos() + TOKEN_MARGIN_SECONDS * 1_000_000_000 < expires.nanos() {
                return Ok(token.clone());
            }
        }
        if matches!(self.settings.credential, Credential::ManagedIdentity) {
            return self.managed_identity_token();
        }
        let endpoint = self.token_endpoint();
        let fail = |reason: String| GraphError::Token {
            endpoint: endpoint.clone(),
            reason,
        };
        let scope = format!("{}/.default", self.settings.graph_url.trim_end_matches('/'));
        let mut form = format!(
            "client_id={}&scope={}&grant_type=client_credentials",
            encode(&self.settings.client_id),
            encode(&scope)
        );
        match &self.settings.credential {
            Credential::Secret(secret) => {
                form.push_str(&format!("&client_secret={}", encode(secret)));
            }
            Credential::ManagedIdentity => {}
            Credential::Certificate(certificate) => {
                let assertion = certificate
                    .assertion(&endpoint, &self.settings.client_id)
                    .map_err(&fail)?;
                form.push_str(&format!(
                    "&client_assertion_type={}&client_assertion={}",
                    encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    encode(&assertion)
                ));
            }
            Credential::FederatedTokenFile(path) => {
                let assertion = std::fs::read_to_string(path).map_err(|e| {
                    fail(format!(
                        "reading the federated token file {}: {e}",
                        path.display()
                    ))
                })?;
                form.push_str(&format!(
                    "&client_assertion_type={}&client_assertion={}",
                    encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    encode(assertion.trim())
                ));
            }
        }
        self.requests += 1;
        let response = self
            .agent
            .post(&endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status().as_u16();
        let body = read_body(response, 1 << 20).unwrap_or_default();
        if status != 200 {
            // Entra's error body names the problem (AADSTS codes) and holds no secret.
            let detail: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let code = detail["error"].as_str().unwrap_or("unknown error");
            let description = detail["error_description"]
                .as_str()
                .and_then(|d| d.lines().next())
                .unwrap_or("");
            return Err(fail(format!("HTTP {status}: {code} {description}")));
        }
        self.keep_token(&body).map_err(fail)
    }

    /// A token from the host's managed identity: `IDENTITY_ENDPOINT` with
    /// `IDENTITY_HEADER` (App Service, Functions, Container Apps, Arc), else the virtual
    /// machine's instance metadata service.
    fn managed_identity_token(&mut self) -> Result<String, GraphError> {
        let resource = self.settings.graph_url.trim_end_matches('/').to_string();
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let user_assigned = if self.settings.client_id.is_empty() {
            String::new()
        } else {
            format!("&client_id={}", encode(&self.settings.client_id))
        };
        let (endpoint, request) = match (env("IDENTITY_ENDPOINT"), env("IDENTITY_HEADER")) {
            (Some(endpoint), Some(header)) => {
                let url = format!(
                    "{endpoint}?api-version=2019-08-01&resource={}{user_assigned}",
                    encode(&resource)
                );
                (
                    endpoint,
                    self.agent.get(&url).header("X-IDENTITY-HEADER", &header),
                )
            }
            _ => {
                let url = format!(
                    "{IMDS}?api-version=2018-02-01&resource={}{user_assigned}",
                    encode(&resource)
                );
                (
                    IMDS.to_string(),
                    self.agent.get(&url).header("Metadata", "true"),
                )
            }
        };
        let fail = |reason: String| GraphError::Token {
            endpoint: endpoint.clone(),
            reason,
        };
        self.requests += 1;
        let response = request.call().map_err(|e| fail(e.to_string()))?;
        let status = response.status().as_u16();
        let body = read_body(response, 1 << 20).unwrap_or_default();
        if status != 200 {
            return Err(fail(format!("HTTP {status}")));
        }
        self.keep_token(&body).map_err(fail)
    }

    /// Caches the token of a token response until it expires.
    fn keep_token(&mut self, body: &[u8]) -> Result<String, String> {
        let token: TokenResponse = serde_json::from_slice(body)
            .map_err(|_| "the response holds no access_token".to_string())?;
        let seconds = match &token.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(3600),
            Some(serde_json::Value::String(s)) => s.parse().unwrap_or(3600),
            _ => 3600,
        };
        let expires = Instant::from_nanos(Instant::now().nanos() + seconds * 1_000_000_000);
        self.token = Some((token.access_token.clone(), expires));
        Ok(token.access_token)
    }

    /// GET `url` (a full URL, as nextLinks are): the body of a 200. `endpoint` and
    /// `permission` name what failed.
    pub fn get(
        &mut self,
        url: &str,
        endpoint: &str,
        permission: &str,
    ) -> Result<Vec<u8>, GraphError> {
        let mut refreshed = false;
        let mut attempt: u32 = 0;
        loop {
            let token = self.token()?;
            self.requests += 1;
            let sent = self
                .agent
                .get(url)
                .header("Authorization", &format!("Bearer {token}"))
                .header("Accept", "application/json")
                .header("ConsistencyLevel", "eventual")
                .call();
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    // A transport error (reset, timeout): retried like a 503.
                    self.back_off(endpoint, None, &mut attempt, &e.to_string())?;
                    continue;
                }
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            match status {
                200 => {
                    return read_body(response, MAX_PAGE_BYTES).map_err(|e| GraphError::Request {
                        endpoint: endpoint.to_string(),
                        reason: format!("reading the page: {e}"),
                    });
                }
                401 if !refreshed => {
                    // The token expired or was revoked early: one new token, one more try.
                    refreshed = true;
                    self.token = None;
                }
                403 => {
                    return Err(GraphError::Forbidden {
                        endpoint: endpoint.to_string(),
                        permission: permission.to_string(),
                    })
                }
                429 | 503 | 504 => {
                    self.back_off(
                        endpoint,
                        retry_after,
                        &mut attempt,
                        &format!("HTTP {status}"),
                    )?;
                }
                _ => {
                    let body = read_body(response, 4096).unwrap_or_default();
                    let detail: serde_json::Value =
                        serde_json::from_slice(&body).unwrap_or_default();
                    let message = detail["error"]["message"].as_str().unwrap_or("");
                    return Err(GraphError::Request {
                        endpoint: endpoint.to_string(),
                        reason: format!("HTTP {status} {message}").trim().to_string(),
                    });
                }
            }
        }
    }

    /// Waits before the next try: `Retry-After` when given, else exponential backoff with
    /// jitter; an error once the pull's retry budget is spent.
    fn back_off(
        &mut self,
        endpoint: &str,
        retry_after: Option<Duration>,
        attempt: &mut u32,
        _reason: &str,
    ) -> Result<(), GraphError> {
        *attempt += 1;
        self.retries += 1;
        let wait = retry_after.unwrap_or_else(|| {
            let exponential = BACKOFF_BASE_MS.saturating_mul(1 << (*attempt).min(10));
            // Jitter from the clock's low bits: enough to spread a fleet's retries.
            let jitter = (Instant::now().nanos().unsigned_abs() % 1000) * exponential / 2000;
            Duration::from_millis(exponential + jitter).min(BACKOFF_MAX)
        });
        if self.waited + wait > RETRY_BUDGET {
            return Err(GraphError::RetryBudget {
                endpoint: endpoint.to_string(),
                waited: self.waited,
            });
        }
        self.waited += wait;
        std::thread::sleep(wait);
        Ok(())
    }
}
