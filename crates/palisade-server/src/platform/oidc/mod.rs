//! OpenID Connect: console sign-in through an identity provider (authorization code flow with
//! PKCE S256) and bearer JWTs from that provider on API calls.
//!
//! - [`config`]: the `[oidc]` table of palisade.toml and its defaults.
//! - [`http`]: requests to the provider (timeouts, size limits, https only).
//! - [`discovery`]: the provider's `/.well-known/openid-configuration`.
//! - [`jwks`]: the provider's signing keys, cached by `kid`, refetched at a bounded rate.
//! - [`validate`]: every check a token must pass.
//! - [`pkce`]: state, nonce, PKCE verifier and the logins in progress.
//!
//! [`Oidc`] ties them together for the server: it starts and finishes logins, checks bearer
//! tokens, and turns a checked token into an [`OidcIdentity`] (username, groups, role).
//! [`provision_user`] finds or creates the account a provider subject signs in as.
//!
//! What does not live here: sessions, cookies of the console session, the audit log and the
//! route table (the platform core), and the sign-in page (the console).

pub mod config;
pub mod discovery;
pub mod http;
pub mod jwks;
pub mod pkce;
pub mod validate;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use palisade_store::{Millis, NewUser, Role, Store, StoreError, User};
use serde::Deserialize;

pub use config::{OidcConfig, OidcSettings, RoleMapping};
pub use discovery::ProviderMetadata;
pub use pkce::StateError;
pub use validate::{Purpose, TokenRejected, VerifiedToken};

use config::ClientAuth;
use http::{HttpClient, query_encode};
use jwks::JwksCache;
use pkce::PendingLogins;

/// After discovery fails, it is not retried for this long (a broken provider is not hammered
/// by every request that needs it).
const DISCOVERY_RETRY: Duration = Duration::from_secs(10);

/// The name of the cookie that binds a login in progress to the browser that started it.
pub const LOGIN_COOKIE: &str = "palisade_oidc";
/// The path the login cookie is sent to.
pub const LOGIN_COOKIE_PATH: &str = "/login/oidc";

/// The provider as discovered: its endpoints and its keys.
pub struct Provider {
    pub metadata: ProviderMetadata,
    pub jwks: JwksCache,
}

/// OIDC for one provider. Cheap to share (`Arc`); all state inside is synchronised.
pub struct Oidc {
    config: OidcConfig,
    http: HttpClient,
    provider: tokio::sync::OnceCell<Arc<Provider>>,
    discovery_failed: Mutex<Option<(Instant, String)>>,
    pending: PendingLogins,
}

/// Where to send the browser to sign in, and the binding cookie's value.
#[derive(Debug, Clone)]
pub struct LoginRedirect {
    pub url: String,
    pub cookie: String,
}

/// Who a checked token names, as the platform sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcIdentity {
    /// `issuer|sub`: the account key (`User::oidc_subject`).
    pub subject_key: String,
    pub username: String,
    pub display_name: String,
    pub groups: Vec<String>,
    /// The mapped role; `None` when no mapping matches and there is no `default_role`.
    pub role: Option<Role>,
}

/// Why a login did not finish. [`LoginError::reason`] is for the audit log;
/// [`LoginError::user_message`] may be shown to the person signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// The callback's state is unknown, reused, expired or from another browser.
    State(StateError),
    /// The provider sent the browser back with `error=…`.
    ProviderDenied {
        error: String,
        description: Option<String>,
    },
    /// The callback had neither `code` nor `error`.
    MissingCode,
    /// Discovery or the token endpoint failed.
    Provider(String),
    /// The ID token failed a check.
    Token(TokenRejected),
    /// None of the user's groups maps to a role and there is no default role.
    NoRole { username: String },
    /// The account exists and is disabled.
    Disabled { username: String },
    /// The store failed.
    Store(String),
}

/// An OAuth error code as it may be logged and shown: printable ASCII without spaces or
/// quotes (RFC 6749 allows no more), at most 64 characters; anything else becomes `?`.
fn error_code(error: &str) -> String {
    error
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '?'
            }
        })
        .collect()
}

impl LoginError {
    /// A short reason for the audit log (no secrets).
    pub fn reason(&self) -> String {
        match self {
            LoginError::State(e) => e.reason().to_string(),
            LoginError::ProviderDenied { error, .. } => {
                format!("provider returned error {}", error_code(error))
            }
            LoginError::MissingCode => "callback without code".into(),
            LoginError::Provider(e) => format!("provider: {e}"),
            LoginError::Token(e) => format!("id token refused: {e}"),
            LoginError::NoRole { .. } => "no role mapping matches the user's groups".into(),
            LoginError::Disabled { .. } => "account disabled".into(),
            LoginError::Store(_) => "store error".into(),
        }
    }

    /// What the sign-in page says (plain text; the page escapes it).
    pub fn user_message(&self) -> String {
        match self {
            LoginError::State(_) => {
                "This sign-in attempt expired or was already used. Please sign in again.".into()
            }
            // Only the error code, reduced to the characters OAuth allows: the callback's
            // query is anyone's to write, so its free text is not shown on this origin.
            LoginError::ProviderDenied { error, .. } => format!(
                "The identity provider refused the sign-in ({}).",
                error_code(error)
            ),
            LoginError::MissingCode => "The identity provider did not complete the sign-in.".into(),
            LoginError::Provider(_) => {
                "The identity provider could not be reached or answered unexpectedly. Try again later or ask an administrator.".into()
            }
            LoginError::Token(_) => {
                "The identity provider's answer could not be verified. Please sign in again.".into()
            }
            LoginError::NoRole { username } => format!(
                "You signed in as {username}, but none of your groups is allowed to use Palisade. Ask an administrator to map one of your groups to a role."
            ),
            LoginError::Disabled { username } => {
                format!("The account {username} is disabled.")
            }
            LoginError::Store(_) => "Sign-in failed because of a server error.".into(),
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Oidc {
        let http = HttpClient::new(config.http_timeout, config.allow_insecure_http);
        Oidc {
            config,
            http,
            provider: tokio::sync::OnceCell::new(),
            discovery_failed: Mutex::new(None),
            pending: PendingLogins::new(),
        }
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The provider's endpoints and keys, discovering them on first use. A failure is kept
    /// for [`DISCOVERY_RETRY`] and returned without asking the provider again.
    pub async fn provider(&self) -> Result<Arc<Provider>, String> {
        if let Some(p) = self.provider.get() {
            return Ok(p.clone());
        }
        if let Some((at, err)) = &*self
            .discovery_failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            && at.elapsed() < DISCOVERY_RETRY
        {
            return Err(err.clone());
        }
        let result = self
            .provider
            .get_or_try_init(|| async {
                let metadata = discovery::discover(
                    &self.http,
                    &self.config.issuer,
                    self.config.allow_insecure_http,
                )
                .await?;
                let jwks = JwksCache::new(
                    self.http.clone(),
                    metadata.jwks_uri.clone(),
                    self.config.jwks_cache,
                    self.config.jwks_min_refetch,
                );
                Ok::<_, String>(Arc::new(Provider { metadata, jwks }))
            })
            .await;
        match result {
            Ok(p) => Ok(p.clone()),
            Err(e) => {
                *self
                    .discovery_failed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    /// Starts a login: the provider's authorization URL (with state, nonce and the PKCE
    /// challenge) and the value of the cookie that binds it to this browser.
    pub async fn begin_login(&self) -> Result<LoginRedirect, String> {
        let provider = self.provider().await?;
        let started = self.pending.start();
        let endpoint = &provider.metadata.authorization_endpoint;
        let sep = if endpoint.contains('?') { '&' } else { '?' };
        let scope = self.config.scopes.join(" ");
        let params = [
            ("response_type", "code"),
            ("client_id", self.config.client_id.as_str()),
            ("redirect_uri", self.config.redirect_url.as_str()),
            ("scope", scope.as_str()),
            ("state", started.state.as_str()),
            ("nonce", started.nonce.as_str()),
            ("code_challenge", started.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", query_encode(v)))
            .collect();
        Ok(LoginRedirect {
            url: format!("{endpoint}{sep}{}", query.join("&")),
            cookie: started.cookie,
        })
    }

    /// Finishes a login from the callback's `code` and `state` and the binding cookie:
    /// exchanges the code (with the PKCE verifier), checks the ID token and maps the user.
    /// The state is consumed whatever happens.
    pub async fn finish_login(
        &self,
        code: &str,
        state: &str,
        cookie: Option<&str>,
    ) -> Result<(VerifiedToken, OidcIdentity), LoginError> {
        let pending = self
            .pending
            .take(state, cookie)
            .map_err(LoginError::State)?;
        let provider = self.provider().await.map_err(LoginError::Provider)?;

        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("redirect_uri", self.config.redirect_url.clone()),
            ("code_verifier", pending.code_verifier.clone()),
        ];
        let mut basic = None;
        let secret = self.config.client_secret.clone().unwrap_or_default();
        match self.config.client_auth {
            ClientAuth::Basic => basic = Some((self.config.client_id.clone(), secret)),
            ClientAuth::Post => {
                form.push(("client_id", self.config.client_id.clone()));
                form.push(("client_secret", secret));
            }
            ClientAuth::None => form.push(("client_id", self.config.client_id.clone())),
        }
        let endpoint = &provider.metadata.token_endpoint;
        let fetched = self
            .http
            .post_form(endpoint, basic, form)
            .await
            .map_err(LoginError::Provider)?;
        let response: Option<TokenResponse> = serde_json::from_slice(&fetched.body).ok();
        if fetched.status != 200 {
            let detail = response
                .and_then(|r| r.error.map(|e| (e, r.error_description)))
                .map(|(e, d)| match d {
                    Some(d) => format!(": {e}: {d}"),
                    None => format!(": {e}"),
                })
                .unwrap_or_default();
            return Err(LoginError::Provider(format!(
                "the token endpoint answered HTTP {}{detail}",
                fetched.status
            )));
        }
        let id_token = response.and_then(|r| r.id_token).ok_or_else(|| {
            LoginError::Provider("the token endpoint's answer has no id_token".into())
        })?;
        let verified = validate::validate(
            &self.config,
            &provider.jwks,
            &id_token,
            Purpose::IdToken {
                nonce: &pending.nonce,
            },
        )
        .await
        .map_err(LoginError::Token)?;
        let identity = self.identity(&verified);
        if identity.role.is_none() {
            return Err(LoginError::NoRole {
                username: identity.username,
            });
        }
        Ok((verified, identity))
    }

    /// Checks a bearer JWT from an `Authorization` header.
    pub async fn verify_bearer(
        &self,
        token: &str,
    ) -> Result<(VerifiedToken, OidcIdentity), TokenRejected> {
        let provider = self
            .provider()
            .await
            .map_err(TokenRejected::KeysUnavailable)?;
        let verified =
            validate::validate(&self.config, &provider.jwks, token, Purpose::Bearer).await?;
        let identity = self.identity(&verified);
        Ok((verified, identity))
    }

    /// The username, display name, groups and role a checked token stands for.
    pub fn identity(&self, token: &VerifiedToken) -> OidcIdentity {
        let username = username_from(&validate::username(
            &token.claims,
            &self.config.username_claim,
            &token.subject,
        ));
        let display_name = token
            .claims
            .get("name")
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(200).collect())
            .unwrap_or_else(|| username.clone());
        let groups = validate::groups(&token.claims, &self.config.groups_claim);
        let role = self.config.role_for(&groups);
        OidcIdentity {
            subject_key: format!("{}|{}", self.config.issuer, token.subject),
            username,
            display_name,
            groups,
            role,
        }
    }

    /// How many logins are in progress.
    pub fn pending_logins(&self) -> usize {
        self.pending.len()
    }
}

/// A username the platform accepts, from whatever the provider sent: lowercased, characters
/// other than letters, digits and `._@-` replaced by `-`, at most 64 characters.
fn username_from(raw: &str) -> String {
    let cleaned: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "oidc-user".into()
    } else {
        cleaned
    }
}

/// What [`provision_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioned {
    Existing,
    /// The account's role changed to follow the groups; holds the old role.
    RoleChanged(Role),
    Created,
}

/// Finds the account of `identity.subject_key`, or creates it, and brings its role in line
/// with `role`. An existing local account with the same username is never taken over: the
/// new account gets a suffixed username instead. A disabled account is returned as is (the
/// caller refuses it).
pub async fn provision_user(
    store: &dyn Store,
    identity: &OidcIdentity,
    role: Role,
    now: Millis,
) -> Result<(User, Provisioned), StoreError> {
    if let Some(mut user) = store.user_by_oidc_subject(&identity.subject_key).await? {
        if user.disabled || user.role == role {
            return Ok((user, Provisioned::Existing));
        }
        store.set_user_role(user.id, role).await?;
        let old = std::mem::replace(&mut user.role, role);
        return Ok((user, Provisioned::RoleChanged(old)));
    }
    let suffix = {
        let digest = ring::digest::digest(&ring::digest::SHA256, identity.subject_key.as_bytes());
        palisade_store::hex(&digest.as_ref()[..4])
    };
    let base: String = identity.username.chars().take(55).collect();
    let candidates = [identity.username.clone(), format!("{base}-{suffix}")];
    let mut last_err = None;
    for username in candidates {
        let new = NewUser {
            username,
            display_name: identity.display_name.clone(),
            role,
            password_hash: None,
            oidc_subject: Some(identity.subject_key.clone()),
        };
        match store.create_user(new, now).await {
            Ok(user) => return Ok((user, Provisioned::Created)),
            Err(StoreError::Conflict(what)) => {
                // A concurrent first sign-in of the same subject may have won the race.
                if let Some(user) = store.user_by_oidc_subject(&identity.subject_key).await? {
                    return Ok((user, Provisioned::Existing));
                }
                last_err = Some(StoreError::Conflict(what));
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| StoreError::Conflict("username".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(
            username_from("Jane.Doe@Example.com"),
            "jane.doe@example.com"
        );
        assert_eq!(username_from("a b/c"), "a-b-c");
        assert_eq!(username_from("  "), "oidc-user");
        assert_eq!(username_from(&"x".repeat(100)).len(), 64);
    }
}
