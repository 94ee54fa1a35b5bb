//! Certificate credentials: a PEM file with the app's certificate and its PKCS#8 private key
//! gives a client assertion for each token request, as Entra documents it — a JWT signed
//! RS256, with `x5t` the certificate's SHA-1 thumbprint (base64url), `aud` the token endpoint,
//! `iss` and `sub` the client id, a `jti`, and ten minutes of validity. The key never leaves
//! this struct, and its Debug prints none of it.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};

use crate::model::Instant;

/// How long an assertion is valid.
const VALID_SECONDS: i64 = 600;

#[derive(Clone)]
pub struct Certificate {
    key_pkcs8: Vec<u8>,
    thumbprint: String,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("x5t", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// The DER of each PEM block with this label.
fn pem_blocks(text: &str, label: &str) -> Vec<Result<Vec<u8>, String>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else {
            blocks.push(Err(format!("a {label} block is not closed")));
            break;
        };
        let body: String = after[..stop].split_whitespace().collect();
        blocks.push(
            STANDARD
                .decode(body)
                .map_err(|e| format!("a {label} block is not base64: {e}")),
        );
        rest = &after[stop + end.len()..];
    }
    blocks
}

impl Certificate {
    /// Reads the PEM file: one `PRIVATE KEY` (PKCS#8) and the `CERTIFICATE` it belongs to.
    /// Errors name the file and what is wrong, never the key.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading the certificate file {}: {e}", path.display()))?;
        let fail = |what: &str| format!("{}: {what}", path.display());
        if text.contains("-----BEGIN RSA PRIVATE KEY-----")
            || text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        {
            return Err(fail(
                "the key must be an unencrypted PKCS#8 `PRIVATE KEY` (openssl pkcs8 -topk8 -nocrypt converts it)",
            ));
        }
        let key_pkcs8 = pem_blocks(&text, "PRIVATE KEY")
            .into_iter()
            .next()
            .ok_or_else(|| fail("no PRIVATE KEY block"))?
            .map_err(|e| fail(&e))?;
        RsaKeyPair::from_pkcs8(&key_pkcs8).map_err(|_| {
            fail("the PRIVATE KEY is not an RSA key ring accepts (2048 bits or more)")
        })?;
        let certificate = pem_blocks(&text, "CERTIFICATE")
            .into_iter()
            .next()
            .ok_or_else(|| fail("no CERTIFICATE block: the thumbprint comes from it"))?
            .map_err(|e| fail(&e))?;
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &certificate);
        Ok(Self {
            key_pkcs8,
            thumbprint: URL_SAFE_NO_PAD.encode(digest.as_ref()),
        })
    }

    /// A signed client assertion for `audience` (the token endpoint).
    pub fn assertion(&self, audience: &str, client_id: &str) -> Result<String, String> {
        let key = RsaKeyPair::from_pkcs8(&self.key_pkcs8)
            .map_err(|_| "the certificate's key cannot be used".to_string())?;
        let now = Instant::now().nanos() / 1_000_000_000;
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.thumbprint});
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + VALID_SECONDS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| "signing the client assertion failed".to_string())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}
