//! HTML for the console: escaping, the page frame, small pieces pages share.
//!
//! Pages are built with `format!` and [`esc`]: every value that did not come from this file
//! (names, messages, paths, anything from the store or the request) is escaped, in text and
//! in double-quoted attributes alike. Nothing here writes inline scripts or styles.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_store::{Millis, Role};

use crate::platform::auth::{Identity, Via};
use crate::platform::error::ApiError;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A query string (`?a=1&b=x`) of the non-empty pairs, URL-encoded; empty when none.
pub fn query(pairs: &[(&str, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in pairs {
        if !v.is_empty() {
            ser.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("?{}", ser.finish())
    } else {
        String::new()
    }
}

/// `2026-11-27 05:31 UTC`.
pub fn time(ms: Millis) -> String {
    let t = palisade_core::time::rfc3339(ms.div_euclid(1000));
    match (t.get(..10), t.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm} UTC"),
        _ => t,
    }
}

/// `time` of an optional moment, or a dash.
pub fn maybe_time(ms: Option<Millis>) -> String {
    ms.map(time).unwrap_or_else(|| "—".into())
}

/// A severity as a coloured label.
pub fn severity(s: &str) -> String {
    let class = match s {
        "CRITICAL" => "critical",
        "HIGH" => "high",
        "MEDIUM" => "medium",
        "LOW" => "low",
        "INFO" => "info",
        _ => "unknown",
    };
    format!("<span class=\"sev sev-{class}\">{}</span>", esc(s))
}

/// The hidden form field with the session's CSRF token (empty for token callers, who do
/// not need it).
pub fn csrf_field(identity: &Identity) -> String {
    match &identity.via {
        Via::Session { csrf_token, .. } => format!(
            "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
            esc(csrf_token)
        ),
        _ => String::new(),
    }
}

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Dashboard,
    Findings,
    Assets,
    Events,
    Alerts,
    Tokens,
    Users,
    Audit,
    Account,
}

fn head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · Palisade</title><link rel=\"icon\" href=\"data:,\">\
<link rel=\"stylesheet\" href=\"/static/console.css\">\
<script src=\"/static/console.js\" defer></script></head>",
        esc(title)
    )
}

/// A page for a signed-in user: navigation, the title, the body (already HTML).
pub fn page(identity: &Identity, nav: Nav, title: &str, body: &str) -> Response {
    let mut links = vec![
        (Nav::Dashboard, "/", "Dashboard"),
        (Nav::Findings, "/findings", "Findings"),
        (Nav::Assets, "/assets", "Assets"),
        (Nav::Events, "/events", "Events"),
        (Nav::Alerts, "/alerts", "Alerts"),
        (Nav::Tokens, "/tokens", "Tokens"),
    ];
    if identity.at_least(Role::Admin) {
        links.push((Nav::Users, "/users", "Users"));
        links.push((Nav::Audit, "/audit", "Audit log"));
    }
    let mut nav_html = String::new();
    for (n, href, label) in links {
        let current = if n == nav {
            " aria-current=\"page\""
        } else {
            ""
        };
        nav_html.push_str(&format!("<a href=\"{href}\"{current}>{label}</a>"));
    }
    let sign_out = if matches!(identity.via, Via::Session { .. }) {
        format!(
            "<form method=\"post\" action=\"/logout\" class=\"inline\">{}<button type=\"submit\" class=\"link\">Sign out</button></form>",
            csrf_field(identity)
        )
    } else {
        String::new()
    };
    let html = format!(
        "{head}<body><header class=\"top\"><a class=\"brand\" href=\"/\">Palisade</a><nav>{nav_html}</nav>\
<div class=\"who\"><a href=\"/account/password\">{user}</a> <span class=\"role\">{role}</span> {sign_out}</div></header>\
<main><h1>{title}</h1>{body}</main></body></html>\n",
        head = head(title),
        user = esc(&identity.user.username),
        role = esc(identity.role.as_str()),
        title = esc(title),
    );
    html_response(StatusCode::OK, html)
}

/// A page without navigation (sign-in, errors for people not signed in).
pub fn bare_page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "{head}<body class=\"bare\"><main class=\"narrow\"><div class=\"brand-big\">Palisade</div><h1>{title}</h1>{body}</main></body></html>\n",
        head = head(title),
        title = esc(title),
    );
    html_response(status, html)
}

pub fn html_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A 303 to a path on this server.
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// An error shown as a page: the API's message, its status.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        PageError(e)
    }
}

impl From<palisade_store::StoreError> for PageError {
    fn from(e: palisade_store::StoreError) -> PageError {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        let title = e.status.canonical_reason().unwrap_or("Error").to_string();
        let mut detail = String::new();
        if let Some(d) = &e.detail {
            let text = match d {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            detail = format!("<p class=\"muted\">{}</p>", esc(&text));
        }
        bare_page(
            e.status,
            &title,
            &format!(
                "<p class=\"error\">{}</p>{detail}<p><a href=\"/\">Back to the dashboard</a></p>",
                esc(&e.error)
            ),
        )
    }
}

/// A JSON error answer (`{"error": …, "detail": …}`) as an error page with the same status
/// and headers; other answers unchanged.
pub async fn json_error_as_page(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return bare_page(
            parts.status,
            "Error",
            "<p class=\"error\">Something went wrong.</p>",
        );
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let mut e = ApiError::new(
        parts.status,
        v.get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("something went wrong"),
    );
    if let Some(d) = v.get("detail").filter(|d| !d.is_null()) {
        e = e.with_detail(d.clone());
    }
    let mut page = PageError(e).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().append(name.clone(), value.clone());
        }
    }
    page
}

/// A message box (`ok` or `error`).
pub fn notice(kind: &str, text: &str) -> String {
    format!("<p class=\"notice {kind}\">{}</p>", esc(text))
}

/// Pagination links: "previous" and "next" around "a–b of n".
pub fn pager(base: &str, pairs: &[(&str, String)], offset: u32, limit: u32, total: i64) -> String {
    let total_u = u64::try_from(total).unwrap_or(0);
    let first = if total_u == 0 {
        0
    } else {
        u64::from(offset) + 1
    };
    let last = (u64::from(offset) + u64::from(limit)).min(total_u);
    let link = |off: u32, label: &str, rel: &str| {
        let mut p: Vec<(&str, String)> = pairs.to_vec();
        if off > 0 {
            p.push(("offset", off.to_string()));
        }
        format!(
            "<a href=\"{}{}\" rel=\"{rel}\">{label}</a>",
            esc(base),
            esc(&query(&p))
        )
    };
    let prev = if offset > 0 {
        link(offset.saturating_sub(limit), "← Previous", "prev")
    } else {
        String::new()
    };
    let next = if last < total_u {
        link(offset.saturating_add(limit), "Next →", "next")
    } else {
        String::new()
    };
    format!("<div class=\"pager\">{prev}<span>{first}–{last} of {total}</span>{next}</div>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_matters() {
        assert_eq!(
            esc("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(esc("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn queries_and_times() {
        assert_eq!(
            query(&[("a", "x y".into()), ("b", String::new()), ("c", "&".into())]),
            "?a=x+y&c=%26"
        );
        assert_eq!(query(&[("a", String::new())]), "");
        assert_eq!(time(86_400_000 + 61_000), "1970-01-02 00:01 UTC");
        let p = pager("/findings", &[("status", "open".into())], 50, 50, 120);
        assert!(p.contains("href=\"/findings?status=open\""), "{p}");
        assert!(p.contains("offset=100"), "{p}");
        assert!(p.contains("51–100 of 120"), "{p}");
    }
}
