//! The route table and the guard every route goes through.
//!
//! [`routes`] is the one list of what the server answers: method, path, who may call it,
//! handler and summary. The router, the OpenAPI document (`openapi.rs`) and the route × role
//! test are all built from it, so a route cannot exist without its access rule or its
//! documentation. Adding a route: write the handler in the module of its resource and add a
//! `route!` line to that module's `routes()`.
//!
//! The guard ([`guard`]) runs before each handler: it resolves the caller
//! ([`authenticate`]), refuses cross-origin state changes and missing CSRF tokens, checks
//! the route's minimum role (401 when unauthenticated, or a redirect to `/login` for console
//! pages; 403 when the role is too low), and audits state-changing requests that the handler
//! did not audit itself.

pub mod alerts;
pub mod audit;
pub mod events;
pub mod findings;
pub mod reports;
pub mod searches;
pub mod session;
pub mod sso;
pub mod system;
pub mod tokens;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use palisade_store::Role;
use serde_json::json;

use super::audit::{self as audit_log, Actor, Outcome, Recorded};
use super::auth::{
    Authenticated, ClientCert, ClientInfo, Identity, IngestClient, PeerAddr, Tls, Via, authenticate,
};
use super::csrf;
use super::error::ApiError;
use super::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health checks, sign-in.
    Public,
    /// Signed-in callers whose role is at least this.
    Role(Role),
    /// `/metrics`: any signed-in caller, or anyone when `metrics_public = true`.
    Metrics,
}

impl Access {
    /// The least role this route needs under the given settings; `None` when public.
    pub fn required(self, metrics_public: bool) -> Option<Role> {
        match self {
            Access::Public => None,
            Access::Role(r) => Some(r),
            Access::Metrics if metrics_public => None,
            Access::Metrics => Some(Role::Viewer),
        }
    }
}

/// A query parameter, for the OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    /// JSON Schema type: `string`, `integer`, `boolean`.
    pub ty: &'static str,
    pub description: &'static str,
}

/// What a route answers on success, for the OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// JSON with this status and component schema.
    Json(u16, &'static str),
    /// 204, no body.
    NoContent,
    /// Text in this media type.
    Text(&'static str),
    /// A redirect (303).
    Redirect,
}

/// One row of the route table.
#[derive(Clone)]
pub struct Route {
    pub method: Method,
    /// axum path syntax (`/api/v1/assets/{id}`), which OpenAPI shares.
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    /// The handler's path in the code, e.g. `users::create`; the OpenAPI operationId.
    pub handler_name: &'static str,
    pub tag: &'static str,
    pub query: &'static [Param],
    /// Component schema of the JSON body.
    pub body: Option<&'static str>,
    pub answer: Answer,
    pub handler: fn() -> MethodRouter<Arc<AppState>>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({:?})", self.method, self.path, self.access)
    }
}

/// `route!(METHOD "/path", access, handler, "summary", tag = "...", query = &[...], ...)`.
macro_rules! route {
    ($method:ident $path:literal, $access:expr, $handler:path, $summary:literal $(, $key:ident = $val:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut r = $crate::platform::api::Route {
            method: ::axum::http::Method::$method,
            path: $path,
            access: $access,
            summary: $summary,
            handler_name: stringify!($handler),
            tag: "",
            query: &[],
            body: None,
            answer: $crate::platform::api::Answer::Json(200, "Object"),
            handler: || ::axum::routing::on(::axum::routing::MethodFilter::$method, $handler),
        };
        $( r.$key = $val; )*
        r
    }};
}
pub(crate) use route;

/// Every route the server answers.
pub fn routes() -> Vec<Route> {
    let mut all = Vec::new();
    all.extend(system::routes());
    all.extend(session::routes());
    all.extend(sso::routes());
    all.extend(users::routes());
    all.extend(tokens::routes());
    all.extend(audit::routes());
    all.extend(reports::routes());
    all.extend(findings::routes());
    all.extend(events::routes());
    all.extend(searches::routes());
    all.extend(alerts::routes());
    all.extend(crate::console::routes());
    all
}

/// The router for a route table, every route behind the guard.
pub fn router(state: Arc<AppState>, table: &[Route]) -> Router<Arc<AppState>> {
    let mut r = Router::new();
    for route in table {
        let guarded = (route.handler)().route_layer(from_fn_with_state(
            (Arc::clone(&state), route.access),
            guard,
        ));
        r = r.route(route.path, guarded);
    }
    r
}

/// Whether a path belongs to the JSON API (else it is a console page or an endpoint for
/// machines like `/metrics`).
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Resolves and checks the caller before the handler runs; audits state-changing requests.
pub async fn guard(
    State((state, access)): State<(Arc<AppState>, Access)>,
    req: Request,
    next: Next,
) -> Response {
    let mut req = match read_small_body(req).await {
        Ok(req) => req,
        Err(response) => return response,
    };
    let method = req.method().clone();
    let changes_state = csrf::is_unsafe(&method);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let tls = req.extensions().get::<Tls>().is_some_and(|t| t.0);
    let peer = req.extensions().get::<PeerAddr>().map(|p| p.0);
    let client = ClientInfo::from_parts(&state, req.headers(), peer);
    req.extensions_mut().insert(client.clone());
    let recorded = Recorded::default();
    req.extensions_mut().insert(recorded.clone());

    let denied = |actor: Actor, err: ApiError, reason: String| {
        let state = Arc::clone(&state);
        let client = client.clone();
        let method = method.clone();
        let route = route.clone();
        async move {
            if changes_state {
                audit_log::record(
                    &state,
                    &actor,
                    &client,
                    &generic_action(&method),
                    &route,
                    Outcome::Denied,
                    json!({ "status": err.status.as_u16(), "reason": reason }),
                )
                .await;
            }
            err.into_response()
        }
    };

    if changes_state && !csrf::origin_allowed(&state.settings, req.headers(), tls) {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        return denied(
            Actor::anonymous(),
            ApiError::forbidden("cross-origin request refused: Origin is not this server"),
            format!("origin {origin:?}"),
        )
        .await;
    }

    if let Some(min) = access.required(state.settings.metrics_public) {
        let identity = match authenticate(&state, req.headers()).await {
            Err(e) => return e.into_response(),
            Ok(Authenticated::Anonymous) if ingest_client(&state, &req).is_some() => None,
            Ok(Authenticated::Anonymous) => {
                if !changes_state && wants_page(&req) {
                    return redirect_to_login(&req);
                }
                return denied(
                    Actor::anonymous(),
                    unauthenticated(
                        "authentication required: sign in, or send Authorization: Bearer <token>",
                    ),
                    "no credentials".into(),
                )
                .await;
            }
            Ok(Authenticated::Rejected(reason)) => {
                if !changes_state && wants_page(&req) {
                    return redirect_to_login(&req);
                }
                return denied(
                    Actor::anonymous(),
                    unauthenticated(
                        "credentials rejected: the token or session is invalid, expired or revoked",
                    ),
                    reason,
                )
                .await;
            }
            Ok(Authenticated::Identified(id)) => Some(id),
        };
        let Some(identity) = identity else {
            // A verified client certificate with an allowed CN, on an ingest route.
            if let Some(client) = ingest_client(&state, &req) {
                req.extensions_mut().insert(client);
            }
            return finish(
                &state,
                req,
                next,
                changes_state,
                recorded,
                client,
                method,
                route,
            )
            .await;
        };
        if changes_state && let Via::Session { csrf_token, .. } = &identity.via {
            req = match csrf::check(req, csrf_token).await {
                Ok(r) => r,
                Err(e) => {
                    return denied(
                        Actor::of(&identity),
                        e,
                        "CSRF token missing or wrong".into(),
                    )
                    .await;
                }
            };
        }
        if identity.role < min {
            let msg = format!(
                "this needs the {} role; you act as {}",
                min.as_str(),
                identity.role.as_str()
            );
            return denied(Actor::of(&identity), ApiError::forbidden(msg.clone()), msg).await;
        }
        req.extensions_mut().insert(identity);
    }
    finish(
        &state,
        req,
        next,
        changes_state,
        recorded,
        client,
        method,
        route,
    )
    .await
}

/// Request bodies up to this size are read before anything answers.
const READ_AHEAD: u64 = 1 << 20;

/// Reads a small request body (a declared length up to [`READ_AHEAD`]) before the request is
/// checked or handled, and hands it on from memory. An answer given before the body was read
/// (a refusal, or a handler that needs no body) made hyper close the connection with the body
/// unread when it had not all arrived yet; the client then lost the connection it was about
/// to reuse ("Peer disconnected") or saw its own request reset. Larger bodies and clients
/// waiting for `100 Continue` are streamed as before.
async fn read_small_body(req: Request) -> Result<Request, Response> {
    let small = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > 0 && n <= READ_AHEAD);
    if !small || req.headers().contains_key(header::EXPECT) {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, READ_AHEAD as usize).await {
        Ok(bytes) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("could not read the request body: {e}"),
        )
        .into_response()),
    }
}

/// Runs the handler of a request the guard let through; audits it when it changes state
/// and the handler did not.
#[allow(clippy::too_many_arguments)]
async fn finish(
    state: &Arc<AppState>,
    req: Request,
    next: Next,
    changes_state: bool,
    recorded: Recorded,
    client: ClientInfo,
    method: Method,
    route: String,
) -> Response {
    let actor = req
        .extensions()
        .get::<Identity>()
        .map(Actor::of)
        .or_else(|| req.extensions().get::<IngestClient>().map(Actor::of_client));
    let path = req.uri().path().chars().take(512).collect::<String>();
    let response = next.run(req).await;
    if changes_state && !recorded.is_set() {
        let status = response.status();
        let outcome = if status.is_client_error() || status.is_server_error() {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        audit_log::record(
            state,
            &actor.unwrap_or_else(Actor::anonymous),
            &client,
            &generic_action(&method),
            &route,
            outcome,
            json!({ "status": status.as_u16(), "path": path }),
        )
        .await;
    }
    response
}

/// The caller of an ingest route (`/ingest/…`) that sent no credentials but a client
/// certificate the TLS handshake verified whose subject CN is in `ingest_client_cns`.
fn ingest_client(state: &AppState, req: &Request) -> Option<IngestClient> {
    if !req.uri().path().starts_with("/ingest/") {
        return None;
    }
    let cn = req.extensions().get::<ClientCert>()?.common_name.as_ref()?;
    state
        .settings
        .ingest_client_cns
        .iter()
        .any(|allowed| allowed == cn)
        .then(|| IngestClient {
            common_name: cn.clone(),
        })
}

/// `http.post`, `http.delete`, …
fn generic_action(method: &Method) -> String {
    format!("http.{}", method.as_str().to_ascii_lowercase())
}

fn unauthenticated(msg: &str) -> ApiError {
    ApiError::unauthorized(msg)
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
}

/// A console page asked for by a browser (not the API, `Accept: text/html`).
fn wants_page(req: &Request) -> bool {
    !is_api(req.uri().path())
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

fn redirect_to_login(req: &Request) -> Response {
    let next: String = form_urlencoded::byte_serialize(
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .as_bytes(),
    )
    .collect();
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/login?next={next}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Query parameter shorthand for route rows.
pub(crate) const fn param(
    name: &'static str,
    ty: &'static str,
    description: &'static str,
) -> Param {
    Param {
        name,
        ty,
        description,
    }
}
