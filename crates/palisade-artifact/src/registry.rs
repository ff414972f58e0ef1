//! Pulling images through the OCI distribution API: anonymous, Bearer-token and basic
//! authentication (credentials from the Docker client configuration), plain HTTP for
//! registries named insecure, multi-platform indexes. Layers stream from the response body
//! straight into the layer reader; nothing is written to disk.

use std::cell::RefCell;
use std::io::Read;
use std::time::Duration;

use base64::Engine;

use crate::oci::{self, Descriptor};
use crate::{
    ArtifactError, BlobSource, ImageRef, Options, Visitor, Walked, resolve_manifest, walk_image,
};

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Credentials for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Reads the credentials for `registry` from a Docker client configuration file (`auths`
/// entries with `auth` = base64 `user:password`, or `username`/`password`). Credential
/// helpers (`credsStore`, `credHelpers`) are not run.
pub fn docker_credentials(config: &serde_json::Value, registry: &str) -> Option<Credentials> {
    let auths = config.get("auths")?.as_object()?;
    let keys: Vec<String> = if registry == "docker.io" {
        vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
            "registry-1.docker.io".into(),
        ]
    } else {
        vec![
            registry.to_string(),
            format!("https://{registry}"),
            format!("http://{registry}"),
            format!("https://{registry}/v1/"),
        ]
    };
    let entry = keys.iter().find_map(|k| auths.get(k))?;
    if let Some(auth) = entry.get("auth").and_then(|a| a.as_str())
        && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(auth.trim())
        && let Ok(text) = String::from_utf8(bytes)
        && let Some((u, p)) = text.split_once(':')
    {
        return Some(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        });
    }
    let username = entry.get("username")?.as_str()?.to_string();
    let password = entry.get("password")?.as_str()?.to_string();
    Some(Credentials { username, password })
}

fn load_docker_config(opts: &Options) -> Option<serde_json::Value> {
    let path = opts.docker_config.clone().or_else(|| {
        std::env::var_os("DOCKER_CONFIG")
            .map(|d| std::path::PathBuf::from(d).join("config.json"))
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| std::path::PathBuf::from(h).join(".docker/config.json"))
            })
    })?;
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Parses `Bearer realm="https://auth",service="registry",scope="repository:x:pull"`.
    pub fn parse(header: &str) -> Option<Challenge> {
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        let mut params = Vec::new();
        let mut s = rest.trim();
        while !s.is_empty() {
            let (key, after) = s.split_once('=')?;
            let key = key
                .trim()
                .trim_start_matches(',')
                .trim()
                .to_ascii_lowercase();
            let after = after.trim_start();
            let (value, remaining) = if let Some(q) = after.strip_prefix('"') {
                let end = q.find('"')?;
                (q[..end].to_string(), &q[end + 1..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            };
            params.push((key, value));
            s = remaining.trim_start().trim_start_matches(',').trim_start();
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

struct Client {
    agent: ureq::Agent,
    base: String,
    repository: String,
    registry: String,
    credentials: Option<Credentials>,
    authorization: RefCell<Option<String>>,
}

impl Client {
    fn new(image: &ImageRef, opts: &Options) -> Client {
        let insecure = opts
            .insecure_registries
            .iter()
            .any(|r| r == &image.registry);
        let host = if image.registry == "docker.io" {
            "registry-1.docker.io".to_string()
        } else {
            image.registry.clone()
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
            .build();
        let credentials =
            load_docker_config(opts).and_then(|c| docker_credentials(&c, &image.registry));
        Client {
            agent: ureq::Agent::new_with_config(config),
            base: format!("{}://{host}", if insecure { "http" } else { "https" }),
            repository: image.repository.clone(),
            registry: image.registry.clone(),
            credentials,
            authorization: RefCell::new(None),
        }
    }

    fn error(&self, message: String) -> ArtifactError {
        ArtifactError::Registry {
            registry: self.registry.clone(),
            message,
        }
    }

    fn send(
        &self,
        url: &str,
        accept: &str,
        authorization: Option<&str>,
        expected_size: u64,
    ) -> Result<ureq::http::Response<ureq::Body>, ArtifactError> {
        // A stalled server must not hang a scan: a body gets two minutes plus the time it
        // takes at 256 KiB/s.
        let body_timeout = Duration::from_secs(120 + expected_size / (256 * 1024));
        let mut req = self
            .agent
            .get(url)
            .header("Accept", accept)
            .config()
            .timeout_recv_body(Some(body_timeout))
            .build();
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        req.call().map_err(|e| {
            let text = e.to_string();
            let protocol = [
                "tls",
                "TLS",
                "certificate",
                "protocol",
                "InvalidContentType",
                "handshake",
                "corrupt",
            ]
            .iter()
            .any(|k| text.contains(k));
            let hint = if self.base.starts_with("https") && protocol {
                " (a registry that speaks plain HTTP must be named with --insecure-registry)"
            } else {
                ""
            };
            self.error(format!("cannot reach {url}: {e}{hint}"))
        })
    }

    /// GETs `/v2/<repository>/<path>`, answering one authentication challenge if asked.
    fn get(
        &self,
        path: &str,
        accept: &str,
        expected_size: u64,
    ) -> Result<ureq::http::Response<ureq::Body>, ArtifactError> {
        let url = format!("{}/v2/{}/{path}", self.base, self.repository);
        let auth = self.authorization.borrow().clone();
        let mut resp = self.send(&url, accept, auth.as_deref(), expected_size)?;
        if resp.status() == 401 {
            let header = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let authorization = self.authenticate(&header)?;
            *self.authorization.borrow_mut() = Some(authorization.clone());
            resp = self.send(&url, accept, Some(&authorization), expected_size)?;
        }
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let body = resp
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_string()
                .unwrap_or_default();
            let detail = registry_message(&body);
            let what = match status {
                401 | 403 => "access denied (log in with `docker login`, or check the credentials in the Docker configuration)".to_string(),
                404 => format!("{path} not found in {}", self.repository),
                _ => format!("HTTP {status}"),
            };
            return Err(self.error(if detail.is_empty() {
                what
            } else {
                format!("{what}: {detail}")
            }));
        }
        Ok(resp)
    }

    fn authenticate(&self, header: &str) -> Result<String, ArtifactError> {
        let Some(challenge) = Challenge::parse(header) else {
            return Err(self.error("asks for authentication without a usable challenge".into()));
        };
        let basic = || {
            self.credentials.as_ref().map(|c| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{}:{}", c.username, c.password))
                )
            })
        };
        match challenge.scheme.as_str() {
            "basic" => basic().ok_or_else(|| {
                self.error(format!(
                    "requires a login; add credentials with `docker login {}`",
                    self.registry
                ))
            }),
            "bearer" => {
                let realm = challenge
                    .param("realm")
                    .ok_or_else(|| self.error("Bearer challenge without a realm".into()))?;
                let mut url = realm.to_string();
                let mut sep = if url.contains('?') { '&' } else { '?' };
                let default_scope = format!("repository:{}:pull", self.repository);
                for (k, v) in [
                    ("service", challenge.param("service")),
                    (
                        "scope",
                        Some(challenge.param("scope").unwrap_or(&default_scope)),
                    ),
                ] {
                    if let Some(v) = v {
                        url.push(sep);
                        url.push_str(k);
                        url.push('=');
                        url.push_str(&percent(v));
                        sep = '&';
                    }
                }
                let mut resp = self.send(&url, "application/json", basic().as_deref(), 0)?;
                if !resp.status().is_success() {
                    return Err(self.error(format!(
                        "token service {realm} refused the request (HTTP {}); check the credentials",
                        resp.status().as_u16()
                    )));
                }
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(1024 * 1024)
                    .read_to_string()
                    .map_err(|e| self.error(format!("token service {realm}: {e}")))?;
                let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| {
                    self.error(format!("token service {realm} answered non-JSON: {e}"))
                })?;
                let token = json
                    .get("token")
                    .or_else(|| json.get("access_token"))
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| self.error(format!("token service {realm} gave no token")))?;
                Ok(format!("Bearer {token}"))
            }
            other => Err(self.error(format!("unsupported authentication scheme {other:?}"))),
        }
    }
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The messages of a registry error document (`{"errors":[{"code","message"}]}`).
fn registry_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return String::new();
    };
    v.get("errors")
        .and_then(|e| e.as_array())
        .map(|errs| {
            errs.iter()
                .filter_map(|e| {
                    let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                    let msg = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
                    (!code.is_empty() || !msg.is_empty())
                        .then(|| format!("{code} {msg}").trim().to_string())
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

impl BlobSource for Client {
    fn open(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>, ArtifactError> {
        if !crate::valid_digest(&desc.digest) {
            return Err(self.error(format!("{:?} is not a valid digest", desc.digest)));
        }
        let is_manifest = matches!(
            desc.media_type.as_str(),
            oci::OCI_INDEX | oci::OCI_MANIFEST | oci::DOCKER_LIST | oci::DOCKER_MANIFEST
        );
        let resp = if is_manifest {
            self.get(&format!("manifests/{}", desc.digest), MANIFEST_TYPES, 0)?
        } else {
            self.get(&format!("blobs/{}", desc.digest), "*/*", desc.size)?
        };
        Ok(Box::new(
            resp.into_body().into_with_config().limit(u64::MAX).reader(),
        ))
    }

    fn error(&self, message: String) -> ArtifactError {
        Client::error(self, message)
    }
}

/// Pulls and walks a registry image.
pub fn walk(
    image: &ImageRef,
    opts: &Options,
    visitor: &mut dyn Visitor,
) -> Result<Walked, ArtifactError> {
    let client = Client::new(image, opts);
    let name = image.to_string();
    // The tag (or digest) resolves to a manifest or index; its digest names it from then on.
    let mut resp = client.get(
        &format!("manifests/{}", image.reference()),
        MANIFEST_TYPES,
        0,
    )?;
    let media_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(crate::MAX_DOCUMENT)
        .read_to_vec()
        .map_err(|e| client.error(format!("reading the manifest: {e}")))?;
    use sha2::Digest;
    let digest = format!(
        "sha256:{}",
        crate::layer::hex(&sha2::Sha256::digest(&bytes))
    );
    if let Some(wanted) = &image.digest
        && wanted != &digest
    {
        return Err(client.error(format!(
            "the manifest for {wanted} hashes to {digest}: refusing it"
        )));
    }
    let desc = Descriptor {
        media_type: if media_type.is_empty() {
            oci::OCI_MANIFEST.to_string()
        } else {
            media_type
        },
        digest,
        size: bytes.len() as u64,
        platform: None,
        annotations: Default::default(),
    };
    let (desc, manifest) = resolve_manifest(&client, desc, &opts.platform, 0, Some(bytes))?;
    let tags = image
        .tag
        .iter()
        .map(|t| format!("{}/{}:{t}", image.registry, image.repository))
        .collect();
    walk_image(
        &client,
        &name,
        Some(desc.digest),
        &manifest,
        tags,
        opts,
        visitor,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_and_credentials() {
        let c = Challenge::parse(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#).unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c.param("scope"), Some("repository:library/alpine:pull"));
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#)
                .unwrap()
                .scheme,
            "basic"
        );
        let cfg: serde_json::Value = serde_json::json!({"auths": {
            "127.0.0.1:5000": {"auth": base64::engine::general_purpose::STANDARD.encode("alice:s3cret")},
            "https://index.docker.io/v1/": {"username": "bob", "password": "pw"}
        }});
        assert_eq!(
            docker_credentials(&cfg, "127.0.0.1:5000").unwrap().password,
            "s3cret"
        );
        assert_eq!(
            docker_credentials(&cfg, "docker.io").unwrap().username,
            "bob"
        );
        assert!(docker_credentials(&cfg, "ghcr.io").is_none());
        assert_eq!(
            registry_message(
                r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
            ),
            "MANIFEST_UNKNOWN manifest unknown"
        );
    }
}
