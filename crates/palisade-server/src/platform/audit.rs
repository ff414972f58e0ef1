//! Writing the audit log: one place every entry goes through.
//!
//! Handlers that change something take an [`Audit`] and call [`Audit::record`] with a dotted
//! action (`token.create`, `user.disable`, `report.upload`), the target and details (never
//! secrets). The route guard records every state-changing request whose handler did not
//! (refused ones included: `denied`), as `http.<method>` with the route pattern and status,
//! so no mutating call goes unlogged even when a handler forgets. Sign-in attempts are
//! recorded by the login handlers with the username tried.
//!
//! Entries are chained by the store (`audit_hash`), so edits and removals show in
//! `GET /api/v1/audit/verify`. Nothing in the API updates or deletes them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use palisade_store::NewAuditEntry;
use serde_json::Value;

use super::auth::{ClientInfo, Identity};
use super::error::ApiError;
use super::state::AppState;

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// Refused before it ran: not authenticated, not allowed, CSRF, rate limit.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// Who did it, as the audit log names them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub user_id: Option<i64>,
    /// `session`, `token:<id>`, `jwt`, `cli`; for the details.
    pub via: Option<String>,
}

impl Actor {
    pub fn anonymous() -> Actor {
        Actor {
            name: "anonymous".into(),
            user_id: None,
            via: None,
        }
    }

    /// A client certificate on an ingest route: `cert:CN`.
    pub fn of_client(client: &super::auth::IngestClient) -> Actor {
        Actor {
            name: format!("cert:{}", client.common_name),
            user_id: None,
            via: Some("client-certificate".into()),
        }
    }

    pub fn of(identity: &Identity) -> Actor {
        let via = match &identity.via {
            super::auth::Via::Token { id, .. } => format!("token:{id}"),
            other => other.name().to_string(),
        };
        Actor {
            name: identity.user.username.clone(),
            user_id: Some(identity.user.id),
            via: Some(via),
        }
    }
}

/// Marks a request whose handler wrote its own audit entry.
#[derive(Debug, Clone, Default)]
pub struct Recorded(pub Arc<AtomicBool>);

impl Recorded {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A handler's handle on the audit log: who is calling and from where.
#[derive(Clone)]
pub struct Audit {
    state: Arc<AppState>,
    pub actor: Actor,
    pub client: ClientInfo,
    recorded: Recorded,
}

impl FromRequestParts<Arc<AppState>> for Audit {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let client = ClientInfo::from_request_parts(parts, state).await?;
        let actor = parts
            .extensions
            .get::<Identity>()
            .map(Actor::of)
            .or_else(|| {
                parts
                    .extensions
                    .get::<super::auth::IngestClient>()
                    .map(Actor::of_client)
            })
            .unwrap_or_else(Actor::anonymous);
        let recorded = parts
            .extensions
            .get::<Recorded>()
            .cloned()
            .unwrap_or_default();
        Ok(Audit {
            state: Arc::clone(state),
            actor,
            client,
            recorded,
        })
    }
}

impl Audit {
    /// Appends an entry as the request's caller.
    pub async fn record(&self, action: &str, target: &str, outcome: Outcome, details: Value) {
        let actor = self.actor.clone();
        self.record_as(&actor, action, target, outcome, details)
            .await;
    }

    /// Appends an entry naming another actor (sign-in attempts name the username tried).
    pub async fn record_as(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        outcome: Outcome,
        details: Value,
    ) {
        self.recorded.0.store(true, Ordering::Relaxed);
        record(
            &self.state,
            actor,
            &self.client,
            action,
            target,
            outcome,
            details,
        )
        .await;
    }
}

/// Appends one entry. A failure to write is logged (and counted) but does not fail the
/// request: the action has already happened.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    client: &ClientInfo,
    action: &str,
    target: &str,
    outcome: Outcome,
    details: Value,
) {
    let mut details = match details {
        Value::Object(m) => Value::Object(m),
        Value::Null => Value::Object(Default::default()),
        other => serde_json::json!({ "value": other }),
    };
    if let (Some(via), Value::Object(m)) = (&actor.via, &mut details) {
        m.entry("via").or_insert_with(|| Value::String(via.clone()));
    }
    let entry = NewAuditEntry {
        at: state.now(),
        actor: actor.name.clone(),
        actor_user_id: actor.user_id,
        action: action.to_string(),
        target: target.to_string(),
        outcome: outcome.as_str().to_string(),
        ip: client.ip_string(),
        user_agent: client.user_agent.clone(),
        details,
    };
    if let Err(e) = state.store.append_audit(entry).await {
        super::metrics::store_error();
        eprintln!(
            "palisade serve: cannot write the audit log ({action} by {}): {e}",
            actor.name
        );
    }
}
