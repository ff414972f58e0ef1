//! The `[oidc]` table of palisade.toml: what the file may say ([`OidcSettings`]) and what
//! the server runs with once defaults are filled in and the client secret is read
//! ([`OidcConfig`]).
//!
//! ```toml
//! [oidc]
//! issuer = "https://login.example.com/realms/sec"
//! client_id = "palisade"
//! client_secret_file = "/run/secrets/palisade-oidc"
//! groups_claim = "groups"
//! roles = { admin = ["sec-admins"], analyst = ["sec-analysts"], viewer = ["engineering"] }
//! ```

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use palisade_store::Role;
use serde::Deserialize;

use super::http::check_url;

/// The `[oidc]` table as written. Unknown keys are an error (`deny_unknown_fields`), so a
/// typo such as `client_secert` is reported with its line rather than silently ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The issuer URL exactly as the provider spells it in its discovery document and tokens.
    pub issuer: String,
    pub client_id: String,
    /// The secret itself. Prefer `client_secret_file` or `client_secret_env`, which keep it
    /// out of the configuration file.
    pub client_secret: Option<String>,
    /// A file whose content (trimmed) is the secret.
    pub client_secret_file: Option<PathBuf>,
    /// The name of an environment variable holding the secret.
    pub client_secret_env: Option<String>,
    /// How the client authenticates at the token endpoint: `client_secret_basic` (default
    /// when there is a secret), `client_secret_post`, or `none` (public client, PKCE only).
    pub token_endpoint_auth: Option<String>,
    /// Where the provider sends the browser back; default `<public_url>/login/oidc/callback`.
    pub redirect_url: Option<String>,
    /// Default `openid profile email groups`; `openid` is added when missing.
    pub scopes: Option<Vec<String>>,
    /// Audiences accepted in bearer JWTs (`aud` must contain one); default the client id.
    /// ID tokens from the login flow must always name the client id.
    pub audiences: Option<Vec<String>>,
    /// The claim holding group names: a top-level claim, or a dotted path into nested objects
    /// (`realm_access.roles`). Default `groups`.
    pub groups_claim: Option<String>,
    /// Groups that grant each role; the highest matching role wins.
    #[serde(default)]
    pub roles: RoleMapping,
    /// The role of users in none of the mapped groups. Without it they are refused.
    pub default_role: Option<Role>,
    /// The claim the username comes from; default `preferred_username`, falling back to
    /// `email`, then `sub`.
    pub username_claim: Option<String>,
    /// Signature algorithms accepted; default RS256, RS384, RS512, ES256, ES384, PS256,
    /// PS384, PS512, EdDSA. HMAC algorithms (HS*) are never accepted.
    pub allowed_algs: Option<Vec<String>>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`; default 60.
    pub leeway_seconds: Option<u64>,
    /// How long fetched keys are trusted when the provider sends no `Cache-Control: max-age`;
    /// default 3600. A `max-age` is honoured between 60 s and 24 h.
    pub jwks_cache_seconds: Option<u64>,
    /// The least time between two JWKS fetches caused by unknown `kid`s; default 30.
    pub jwks_min_refetch_seconds: Option<u64>,
    /// Timeout for each request to the provider; default 10.
    pub http_timeout_seconds: Option<u64>,
    /// Allow `http://` provider URLs on non-loopback hosts. Loopback (tests, a provider on
    /// the same machine) is always allowed.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The name on the console's sign-in button; default "single sign-on".
    pub display_name: Option<String>,
}

/// `roles = { admin = [...], analyst = [...], viewer = [...] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMapping {
    #[serde(default)]
    pub admin: Vec<String>,
    #[serde(default)]
    pub analyst: Vec<String>,
    #[serde(default)]
    pub viewer: Vec<String>,
}

impl RoleMapping {
    /// The highest role any of `groups` grants.
    pub fn role_for(&self, groups: &[String]) -> Option<Role> {
        let grants = |names: &[String]| groups.iter().any(|g| names.iter().any(|n| n == g));
        if grants(&self.admin) {
            Some(Role::Admin)
        } else if grants(&self.analyst) {
            Some(Role::Analyst)
        } else if grants(&self.viewer) {
            Some(Role::Viewer)
        } else {
            None
        }
    }
}

/// How the client proves itself at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded client id and secret.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
    /// Only `client_id` in the body: a public client relying on PKCE.
    None,
}

/// The algorithms accepted when the configuration names none.
pub const DEFAULT_ALGS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::EdDSA,
];

/// The OIDC settings the server runs with.
#[derive(Clone, PartialEq)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub client_auth: ClientAuth,
    pub redirect_url: String,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub groups_claim: String,
    pub roles: RoleMapping,
    pub default_role: Option<Role>,
    pub username_claim: String,
    pub allowed_algs: Vec<Algorithm>,
    pub leeway: Duration,
    pub jwks_cache: Duration,
    pub jwks_min_refetch: Duration,
    pub http_timeout: Duration,
    pub allow_insecure_http: bool,
    pub display_name: String,
}

impl std::fmt::Debug for OidcConfig {
    // Hand-written so the secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_auth", &self.client_auth)
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("audiences", &self.audiences)
            .field("groups_claim", &self.groups_claim)
            .field("roles", &self.roles)
            .field("default_role", &self.default_role)
            .field("username_claim", &self.username_claim)
            .field("allowed_algs", &self.allowed_algs)
            .field("leeway", &self.leeway)
            .field("jwks_cache", &self.jwks_cache)
            .field("jwks_min_refetch", &self.jwks_min_refetch)
            .field("http_timeout", &self.http_timeout)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl OidcConfig {
    /// Fills in defaults, reads the client secret and checks every value. `public_url` is the
    /// server's external base URL (`https://palisade.example.com`), used for the default
    /// redirect URL. Errors name the `oidc.<key>` at fault.
    pub fn resolve(s: &OidcSettings, public_url: &str) -> Result<OidcConfig, String> {
        let allow_insecure_http = s.allow_insecure_http;
        if s.issuer.trim().is_empty() {
            return Err("oidc.issuer: required (the provider's issuer URL)".into());
        }
        check_url(&s.issuer, allow_insecure_http).map_err(|e| format!("oidc.issuer: {e}"))?;
        if s.issuer.contains(['?', '#']) {
            return Err("oidc.issuer: must not have a query or fragment".into());
        }
        if s.client_id.trim().is_empty() {
            return Err("oidc.client_id: required".into());
        }

        let given = [
            s.client_secret.is_some(),
            s.client_secret_file.is_some(),
            s.client_secret_env.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(
                "oidc: give only one of client_secret, client_secret_file, client_secret_env"
                    .into(),
            );
        }
        let client_secret = if let Some(secret) = &s.client_secret {
            Some(secret.clone())
        } else if let Some(path) = &s.client_secret_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "oidc.client_secret_file: cannot read {}: {e}",
                    path.display()
                )
            })?;
            Some(text.trim().to_string())
        } else if let Some(var) = &s.client_secret_env {
            Some(std::env::var(var).map_err(|_| {
                format!("oidc.client_secret_env: the environment variable {var} is not set")
            })?)
        } else {
            None
        };
        if client_secret.as_deref() == Some("") {
            return Err("oidc: the client secret is empty".into());
        }

        let client_auth = match (s.token_endpoint_auth.as_deref(), &client_secret) {
            (None | Some("client_secret_basic"), Some(_)) => ClientAuth::Basic,
            (Some("client_secret_post"), Some(_)) => ClientAuth::Post,
            (None | Some("none"), None) => ClientAuth::None,
            (Some("none"), Some(_)) => {
                return Err(
                    "oidc.token_endpoint_auth: \"none\" is for public clients; remove the client secret or pick client_secret_basic"
                        .into(),
                );
            }
            (Some("client_secret_basic" | "client_secret_post"), None) => {
                return Err(
                    "oidc: token_endpoint_auth needs a client secret (client_secret, client_secret_file or client_secret_env)"
                        .into(),
                );
            }
            (Some(other), _) => {
                return Err(format!(
                    "oidc.token_endpoint_auth: unknown method {other:?} (expected client_secret_basic, client_secret_post or none)"
                ));
            }
        };

        let redirect_url = match &s.redirect_url {
            Some(url) => url.clone(),
            None => format!("{}/login/oidc/callback", public_url.trim_end_matches('/')),
        };
        // The redirect URL is ours, so http is fine wherever the server itself serves http.
        check_url(&redirect_url, true).map_err(|e| format!("oidc.redirect_url: {e}"))?;

        let mut scopes = s.scopes.clone().unwrap_or_else(|| {
            ["openid", "profile", "email", "groups"]
                .map(String::from)
                .to_vec()
        });
        if let Some(bad) = scopes
            .iter()
            .find(|sc| sc.is_empty() || sc.contains(|c: char| c.is_whitespace() || c == '"'))
        {
            return Err(format!("oidc.scopes: invalid scope {bad:?}"));
        }
        if !scopes.iter().any(|sc| sc == "openid") {
            scopes.insert(0, "openid".into());
        }

        let audiences = s
            .audiences
            .clone()
            .unwrap_or_else(|| vec![s.client_id.clone()]);
        if audiences.is_empty() || audiences.iter().any(|a| a.is_empty()) {
            return Err("oidc.audiences: must list at least one non-empty audience".into());
        }

        let allowed_algs = match &s.allowed_algs {
            None => DEFAULT_ALGS.to_vec(),
            Some(names) => {
                let mut algs = Vec::new();
                for name in names {
                    let alg: Algorithm = name
                        .parse()
                        .map_err(|_| format!("oidc.allowed_algs: unknown algorithm {name:?}"))?;
                    if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
                        return Err(format!(
                            "oidc.allowed_algs: {name} is a shared-secret algorithm; only public-key algorithms (RS*, PS*, ES*, EdDSA) are accepted"
                        ));
                    }
                    if !algs.contains(&alg) {
                        algs.push(alg);
                    }
                }
                if algs.is_empty() {
                    return Err("oidc.allowed_algs: must list at least one algorithm".into());
                }
                algs
            }
        };

        let groups_claim = s.groups_claim.clone().unwrap_or_else(|| "groups".into());
        let username_claim = s
            .username_claim
            .clone()
            .unwrap_or_else(|| "preferred_username".into());
        if groups_claim.is_empty() || username_claim.is_empty() {
            return Err("oidc: groups_claim and username_claim must not be empty".into());
        }

        let seconds = |v: Option<u64>, default: u64, key: &str, max: u64| {
            let v = v.unwrap_or(default);
            if v > max {
                Err(format!("oidc.{key}: at most {max}"))
            } else {
                Ok(Duration::from_secs(v))
            }
        };
        let http_timeout = seconds(s.http_timeout_seconds, 10, "http_timeout_seconds", 300)?;
        if http_timeout.is_zero() {
            return Err("oidc.http_timeout_seconds: must be at least 1".into());
        }

        Ok(OidcConfig {
            issuer: s.issuer.clone(),
            client_id: s.client_id.clone(),
            client_secret,
            client_auth,
            redirect_url,
            scopes,
            audiences,
            groups_claim,
            roles: s.roles.clone(),
            default_role: s.default_role,
            username_claim,
            allowed_algs,
            leeway: seconds(s.leeway_seconds, 60, "leeway_seconds", 600)?,
            jwks_cache: seconds(s.jwks_cache_seconds, 3600, "jwks_cache_seconds", 86_400)?,
            jwks_min_refetch: seconds(
                s.jwks_min_refetch_seconds,
                30,
                "jwks_min_refetch_seconds",
                3600,
            )?,
            http_timeout,
            allow_insecure_http,
            display_name: s
                .display_name
                .clone()
                .unwrap_or_else(|| "single sign-on".into()),
        })
    }

    /// The role for a user in `groups`: the highest mapped role, else `default_role`.
    pub fn role_for(&self, groups: &[String]) -> Option<Role> {
        self.roles.role_for(groups).or(self.default_role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OidcSettings {
        OidcSettings {
            issuer: "https://idp.example.com".into(),
            client_id: "palisade".into(),
            client_secret: Some("s3cret".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults() {
        let c = OidcConfig::resolve(&settings(), "https://pal.example.com/").unwrap();
        assert_eq!(
            c.redirect_url,
            "https://pal.example.com/login/oidc/callback"
        );
        assert_eq!(c.scopes, ["openid", "profile", "email", "groups"]);
        assert_eq!(c.audiences, ["palisade"]);
        assert_eq!(c.client_auth, ClientAuth::Basic);
        assert_eq!(c.allowed_algs, DEFAULT_ALGS);
        assert_eq!(c.leeway, Duration::from_secs(60));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    type Edit = Box<dyn Fn(&mut OidcSettings)>;

    #[test]
    fn refuses_bad_values() {
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|s| s.issuer = "http://idp.example.com".into()),
                "oidc.issuer",
            ),
            (Box::new(|s| s.issuer = "".into()), "oidc.issuer"),
            (
                Box::new(|s| s.allowed_algs = Some(vec!["HS256".into()])),
                "shared-secret",
            ),
            (
                Box::new(|s| s.allowed_algs = Some(vec!["none".into()])),
                "unknown algorithm",
            ),
            (
                Box::new(|s| s.client_secret_env = Some("X".into())),
                "only one of",
            ),
            (
                Box::new(|s| s.token_endpoint_auth = Some("private_key_jwt".into())),
                "unknown method",
            ),
            (Box::new(|s| s.audiences = Some(vec![])), "oidc.audiences"),
        ];
        for (change, want) in cases {
            let mut s = settings();
            change(&mut s);
            let err = OidcConfig::resolve(&s, "https://pal.example.com").unwrap_err();
            assert!(err.contains(want), "{err} should mention {want}");
        }
    }

    #[test]
    fn loopback_http_is_allowed_and_insecure_opt_in_works() {
        let mut s = settings();
        s.issuer = "http://127.0.0.1:8080/realms/x".into();
        assert!(OidcConfig::resolve(&s, "http://127.0.0.1:7878").is_ok());
        s.issuer = "http://idp.internal".into();
        assert!(OidcConfig::resolve(&s, "http://127.0.0.1:7878").is_err());
        s.allow_insecure_http = true;
        assert!(OidcConfig::resolve(&s, "http://127.0.0.1:7878").is_ok());
    }

    #[test]
    fn highest_role_wins() {
        let roles = RoleMapping {
            admin: vec!["sec-admins".into()],
            analyst: vec!["sec".into()],
            viewer: vec!["eng".into()],
        };
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            roles.role_for(&g(&["eng", "sec-admins"])),
            Some(Role::Admin)
        );
        assert_eq!(roles.role_for(&g(&["eng", "sec"])), Some(Role::Analyst));
        assert_eq!(roles.role_for(&g(&["eng"])), Some(Role::Viewer));
        assert_eq!(roles.role_for(&g(&["Sec-Admins"])), None);
    }

    #[test]
    fn toml_roles_table() {
        let s: OidcSettings = toml::from_str(
            r#"
issuer = "https://idp.example.com"
client_id = "palisade"
roles = { admin = ["a"], viewer = ["v"] }
default_role = "viewer"
"#,
        )
        .unwrap();
        assert_eq!(s.roles.admin, ["a"]);
        assert_eq!(s.default_role, Some(Role::Viewer));
        let err = toml::from_str::<OidcSettings>(
            "issuer = \"x\"\nclient_id = \"y\"\nclient_secert = \"z\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("client_secert"), "{err}");
    }
}
