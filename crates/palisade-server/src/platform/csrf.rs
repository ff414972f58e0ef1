//! Cross-site request forgery defences for cookie-authenticated requests.
//!
//! 1. Origin: a state-changing request whose `Origin` header names another site is refused,
//!    whatever its credentials (this also covers the sign-in form: no logging people into
//!    an attacker's account). Browsers send `Origin` on every cross-site POST, so a missing
//!    header means a non-browser client.
//! 2. Token: a state-changing request authenticated by the session cookie must carry the
//!    session's CSRF token, in the `X-CSRF-Token` header (scripts, `fetch`) or the
//!    `csrf_token` form field (plain HTML forms). `GET /api/v1/me` returns it. Bearer
//!    requests are exempt: a browser never adds an `Authorization` header by itself.
//!
//! `SameSite=Lax` on the cookie is a third layer, not relied upon alone.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use http_body_util::BodyExt;

use super::config::Settings;
use super::error::ApiError;
use super::tokens::constant_time_eq;

/// The header scripts send the token in.
pub const HEADER: &str = "x-csrf-token";
/// The form field HTML forms send it in.
pub const FORM_FIELD: &str = "csrf_token";
/// Forms larger than this are not searched for the token (nothing the console posts is).
const MAX_FORM: usize = 1 << 20;

/// Whether a method changes state.
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request's `Origin` (when it has one) is this server: the configured public
/// URL, or (only when none is configured) the scheme and `Host` the request came in on.
pub fn origin_allowed(settings: &Settings, headers: &HeaderMap, tls: bool) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim().trim_end_matches('/');
    if origin.eq_ignore_ascii_case(settings.public_origin()) {
        return true;
    }
    // With a configured public URL that is the only origin: trusting the Host header too
    // would let a DNS-rebound page (whose Host is its own name) pass.
    if settings.public_url_set {
        return false;
    }
    let scheme = if tls { "https" } else { "http" };
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| origin.eq_ignore_ascii_case(&format!("{scheme}://{host}")))
}

/// Checks the session's CSRF token on a request; returns the request (its body read and put
/// back when the token was in a form).
pub async fn check(req: Request, expected: &str) -> Result<Request, ApiError> {
    let refused = || {
        ApiError::forbidden(
            "CSRF token missing or wrong: send the token from GET /api/v1/me in the X-CSRF-Token header",
        )
    };
    if let Some(v) = req.headers().get(HEADER) {
        return match v.to_str() {
            Ok(t) if constant_time_eq(t.trim(), expected) => Ok(req),
            _ => Err(refused()),
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = req.into_parts();
    let bytes = http_body_util::Limited::new(body, MAX_FORM)
        .collect()
        .await
        .map_err(|_| ApiError::too_large("form too large"))?
        .to_bytes();
    let found = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == FORM_FIELD)
        .map(|(_, v)| v.into_owned());
    match found {
        Some(t) if constant_time_eq(t.trim(), expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn settings() -> Settings {
        Settings::for_database(
            "127.0.0.1:7878".parse().unwrap(),
            "x.db",
            std::path::Path::new("d"),
        )
    }

    #[test]
    fn origin_must_be_ours() {
        let s = settings();
        let mut h = HeaderMap::new();
        assert!(origin_allowed(&s, &h, false));
        h.insert(header::HOST, HeaderValue::from_static("pal.local:7878"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://pal.local:7878"),
        );
        assert!(origin_allowed(&s, &h, false));
        assert!(!origin_allowed(&s, &h, true));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:7878"),
        );
        assert!(origin_allowed(&s, &h, false));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!origin_allowed(&s, &h, false));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!origin_allowed(&s, &h, false));
        // With a public URL configured, only it: a rebound name in Host does not pass.
        let mut s = settings();
        s.public_url = "https://palisade.example.com".into();
        s.public_url_set = true;
        h.insert(header::HOST, HeaderValue::from_static("rebound.evil:7878"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://rebound.evil:7878"),
        );
        assert!(!origin_allowed(&s, &h, false));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://palisade.example.com"),
        );
        assert!(origin_allowed(&s, &h, true));
        assert!(is_unsafe(&Method::POST) && is_unsafe(&Method::DELETE));
        assert!(!is_unsafe(&Method::GET));
    }

    #[test]
    fn token_in_header_or_form() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let req = Request::builder()
                .method("POST")
                .header(HEADER, "tok")
                .body(Body::empty())
                .unwrap();
            assert!(check(req, "tok").await.is_ok());
            let req = Request::builder()
                .method("POST")
                .header(HEADER, "bad")
                .body(Body::empty())
                .unwrap();
            assert!(check(req, "tok").await.is_err());
            let req = Request::builder()
                .method("POST")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("a=1&csrf_token=tok"))
                .unwrap();
            let req = check(req, "tok").await.unwrap();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"a=1&csrf_token=tok");
            let req = Request::builder()
                .method("POST")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            assert!(check(req, "tok").await.is_err());
        });
    }
}
