//! The web console of `palisade serve`: server-rendered HTML pages over the platform's store.
//!
//! - [`html`]: escaping and the page frame (navigation, sign-out form); every value that
//!   comes from the store or the request goes through [`html::esc`].
//! - [`chart`]: the SVG charts of the dashboard, drawn on the server.
//! - [`pages`]: the pages that only read (dashboard, assets, findings, audit log);
//!   [`events`]: searching security events; [`alerts`]: alerts and their triage form.
//! - [`forms`]: sign-in, password, users and tokens: forms that change something. They call
//!   the API's own handlers, so checks and audit entries are the same as over the API.
//!
//! Pages are rows of the one route table (`platform::api::routes`), so the guard signs
//! people in (a browser asking for a page without a session is sent to `/login`), checks
//! roles and CSRF tokens (every form carries `csrf_token`), and audits every form post.
//! The Content-Security-Policy allows no inline script or style: the stylesheet and the
//! little script are files under `/static/`.

pub mod alerts;
pub mod chart;
pub mod events;
pub mod forms;
pub mod html;
pub mod pages;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_store::Role;

use crate::platform::api::{Access, Answer, Route, route};
use crate::platform::error::{ApiError, ApiPath};

const VIEWER: Access = Access::Role(Role::Viewer);
const ADMIN: Access = Access::Role(Role::Admin);
const ANALYST: Access = Access::Role(Role::Analyst);
const PAGE: Answer = Answer::Text("text/html; charset=utf-8");

/// The console's routes, for the route table.
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/static/{name}", Access::Public, static_file,
            "The console's stylesheet and script", tag = "console", answer = Answer::Text("text/css")),
        route!(GET "/login", Access::Public, forms::login_page,
            "Console: sign-in page", tag = "console", answer = PAGE),
        route!(POST "/login", Access::Public, forms::login_submit,
            "Console: sign in with the form; redirects on success", tag = "console", answer = Answer::Redirect),
        route!(POST "/logout", VIEWER, forms::logout,
            "Console: sign out", tag = "console", answer = Answer::Redirect),
        route!(GET "/account/password", VIEWER, forms::password_page,
            "Console: set or change your password", tag = "console", answer = PAGE),
        route!(POST "/account/password", VIEWER, forms::password_submit,
            "Console: set or change your password (form)", tag = "console", answer = Answer::Redirect),
        route!(GET "/", VIEWER, pages::dashboard,
            "Console: dashboard (open findings by severity, trend, riskiest assets)", tag = "console", answer = PAGE),
        route!(GET "/assets", VIEWER, pages::assets,
            "Console: assets", tag = "console", answer = PAGE),
        route!(GET "/assets/{id}", VIEWER, pages::asset,
            "Console: one asset, its open findings and report history", tag = "console", answer = PAGE),
        route!(GET "/findings", VIEWER, pages::findings,
            "Console: findings with filters", tag = "console", answer = PAGE),
        route!(GET "/findings/{id}", VIEWER, pages::finding,
            "Console: one finding", tag = "console", answer = PAGE),
        route!(GET "/events", VIEWER, events::events,
            "Console: search security events (histogram, results, raw events)", tag = "console", answer = PAGE),
        route!(POST "/events/searches", ANALYST, events::save_search,
            "Console: save the search shown (form)", tag = "console", answer = Answer::Redirect),
        route!(POST "/events/searches/{id}/delete", ANALYST, events::delete_search,
            "Console: delete a saved search (form)", tag = "console", answer = Answer::Redirect),
        route!(GET "/alerts", VIEWER, alerts::list,
            "Console: alerts with filters", tag = "console", answer = PAGE),
        route!(GET "/alerts/{id}", VIEWER, alerts::detail,
            "Console: one alert with its matching events", tag = "console", answer = PAGE),
        route!(POST "/alerts/{id}/state", ANALYST, alerts::set_state,
            "Console: acknowledge, close or reopen an alert (form)", tag = "console", answer = Answer::Redirect),
        route!(GET "/audit", ADMIN, pages::audit,
            "Console: the audit log", tag = "console", answer = PAGE),
        route!(GET "/users", ADMIN, forms::users_page,
            "Console: users", tag = "console", answer = PAGE),
        route!(POST "/users", ADMIN, forms::user_create,
            "Console: create a user (form)", tag = "console", answer = PAGE),
        route!(POST "/users/{id}", ADMIN, forms::user_update,
            "Console: change a user's role, disable or enable them (form)", tag = "console", answer = Answer::Redirect),
        route!(POST "/users/{id}/password-reset", ADMIN, forms::user_reset,
            "Console: reset a user's password (form); shows the login link once", tag = "console", answer = PAGE),
        route!(GET "/tokens", VIEWER, forms::tokens_page,
            "Console: your API tokens", tag = "console", answer = PAGE),
        route!(POST "/tokens", VIEWER, forms::token_create,
            "Console: create an API token (form); shows it once", tag = "console", answer = PAGE),
        route!(POST "/tokens/{id}/revoke", VIEWER, forms::token_revoke,
            "Console: revoke an API token (form)", tag = "console", answer = Answer::Redirect),
    ]
}

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

async fn static_file(ApiPath(name): ApiPath<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return ApiError::not_found(format!("static file {name:?}")).into_response(),
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}
