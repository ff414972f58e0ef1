//! The platform server (`palisade serve`) over real HTTPS: every route for every role, the
//! first-start login link, CSRF, OIDC sign-in and bearer JWTs against a provider served by
//! the test, the audit log, and report uploads through to the dashboard.
//!
//! Each test runs on SQLite (a temporary directory) and, when `PALISADE_TEST_POSTGRES` is
//! set, again on a PostgreSQL database made for it (`harness`).

#[path = "platform/harness.rs"]
mod harness;
#[path = "platform/provider.rs"]
mod provider;

use std::collections::BTreeSet;
use std::io::Write;

use harness::{Cred, Db, Options, Resp, Server, each_backend, fixture};
use palisade_server::platform::api::{self, Access};
use palisade_store::Role;
use provider::{Key, Provider, User, now_secs};
use serde_json::{Value, json};

/// A route path with its parameters filled in with `value`.
fn concrete(path: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c + 1).unwrap();
        out.push_str(value);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

fn is_unsafe(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// Calls a route the way the walk does: state-changing methods with an empty JSON object.
fn call_route(srv: &Server, method: &str, path: &str, cred: &Cred, accept: Option<&str>) -> Resp {
    call_route_as(srv, method, path, cred, accept, harness::USER_AGENT)
}

fn call_route_as(
    srv: &Server,
    method: &str,
    path: &str,
    cred: &Cred,
    accept: Option<&str>,
    user_agent: &str,
) -> Resp {
    let mut c = srv
        .call(method, path)
        .cred(cred)
        .header("user-agent", user_agent);
    if let Some(a) = accept {
        c = c.header("accept", a);
    }
    if is_unsafe(method) {
        c = c.json(&json!({}));
    }
    c.send()
}

#[test]
fn every_route_for_every_role() {
    each_backend("every_route_for_every_role", |db| {
        let srv = Server::start(db, "routes", Options::default());
        let roles = srv.roles();
        let table = api::routes();
        assert!(table.len() >= 20, "{table:?}");
        // The alert routes are in the table (and so in the walk below), with their roles.
        for (method, path, min) in [
            ("GET", "/api/v1/alerts", Role::Viewer),
            ("GET", "/api/v1/alerts/{id}", Role::Viewer),
            ("GET", "/api/v1/events/{event}", Role::Viewer),
            ("POST", "/api/v1/alerts/{id}/state", Role::Analyst),
            ("GET", "/alerts", Role::Viewer),
            ("GET", "/alerts/{id}", Role::Viewer),
            ("POST", "/alerts/{id}/state", Role::Analyst),
        ] {
            assert!(
                table.iter().any(|r| r.method.as_str() == method
                    && r.path == path
                    && r.access == Access::Role(min)),
                "{method} {path} ({min:?}) is not in the route table"
            );
        }

        struct Caller {
            who: &'static str,
            role: Option<Role>,
            cred: Cred,
            relogin: Option<(String, String)>,
            username: String,
        }
        let person = |who, role, p: &harness::Person, session: bool| Caller {
            who,
            role: Some(role),
            cred: if session {
                p.session.clone()
            } else {
                p.token.clone()
            },
            relogin: session.then(|| (p.username.clone(), p.password.clone())),
            username: p.username.clone(),
        };
        let mut callers = [
            Caller {
                who: "anonymous",
                role: None,
                cred: Cred::None,
                relogin: None,
                username: "anonymous".into(),
            },
            person("viewer token", Role::Viewer, &roles.viewer, false),
            person("viewer session", Role::Viewer, &roles.viewer, true),
            person("analyst token", Role::Analyst, &roles.analyst, false),
            person("analyst session", Role::Analyst, &roles.analyst, true),
            person("admin token", Role::Admin, &roles.admin, false),
            person("admin session", Role::Admin, &roles.admin, true),
        ];

        let mut failures = Vec::new();
        // Every state-changing call goes out with a user agent of its own, to be found in the
        // audit log afterwards: (user agent, call, who should be named).
        let mut state_changes: Vec<(String, String, Option<String>)> = Vec::new();
        for route in &table {
            let method = route.method.as_str();
            let path = concrete(route.path, "999999");
            let required = route.access.required(false);
            let api_route = api::is_api(route.path);
            for c in callers.iter_mut() {
                let ua = format!("walk-{}", state_changes.len());
                let r = call_route_as(&srv, method, &path, &c.cred, None, &ua);
                if is_unsafe(method) {
                    // Callers the route lets through are named; refused ones may be
                    // recorded as anonymous (a CSRF or Origin refusal comes first).
                    let actor = match (required, c.role) {
                        (Some(min), Some(role)) if role >= min => Some(c.username.clone()),
                        _ => None,
                    };
                    state_changes.push((ua, format!("{method} {path} as {}", c.who), actor));
                }
                let what = format!("{method} {path} as {}: HTTP {} {}", c.who, r.status, r.body);
                if r.status >= 500 {
                    failures.push(format!("server error: {what}"));
                }
                match (required, c.role) {
                    (None, _) => {
                        if matches!(r.status, 401 | 403) {
                            failures.push(format!("public route refused: {what}"));
                        }
                    }
                    (Some(_), None) => {
                        if r.status != 401 {
                            failures.push(format!("expected 401: {what}"));
                        } else if r.header("www-authenticate") != Some("Bearer") {
                            failures.push(format!("401 without WWW-Authenticate: {what}"));
                        }
                        if api_route && r.json().get("error").is_none() {
                            failures.push(format!("API 401 without JSON error: {what}"));
                        }
                    }
                    (Some(min), Some(role)) if role < min => {
                        if r.status != 403 {
                            failures.push(format!("expected 403: {what}"));
                        }
                    }
                    (Some(_), Some(_)) => {
                        if matches!(r.status, 401 | 403) {
                            failures.push(format!("allowed caller refused: {what}"));
                        }
                    }
                }
                // A call may have ended the session (logout): sign in again.
                if let Some((user, password)) = &c.relogin
                    && srv.get("/api/v1/me", &c.cred).status == 401
                {
                    c.cred = srv.login(user, password);
                }
            }
            // Console pages send browsers to the sign-in page instead of answering 401.
            if required.is_some() && !api_route && method == "GET" {
                let r = call_route(&srv, method, &path, &Cred::None, Some("text/html"));
                let to_login = r
                    .header("location")
                    .is_some_and(|l| l.starts_with("/login?next="));
                if r.status != 303 || !to_login {
                    failures.push(format!(
                        "page {path} as anonymous browser: HTTP {} to {:?}",
                        r.status,
                        r.header("location")
                    ));
                }
            }
            // Parameters that are not what the route expects are a 4xx, never a 500.
            if route.path.contains('{') {
                for bad in ["not-a-number", "1%27%20OR%20%271%27%3D%271", "-1"] {
                    let path = concrete(route.path, bad);
                    let r = call_route(&srv, method, &path, &roles.admin.token, None);
                    if r.status >= 500 {
                        failures.push(format!("{method} {path}: HTTP {} {}", r.status, r.body));
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} problems:\n{}",
            failures.len(),
            failures.join("\n")
        );

        // Each of those state-changing calls, allowed or refused, is in the audit log with
        // who, what, when and from where.
        let audit = srv.audit(&roles.admin.token);
        let mut missing = Vec::new();
        for (ua, call, actor) in &state_changes {
            let entries: Vec<&Value> = audit
                .iter()
                .filter(|e| e["user_agent"] == ua.as_str())
                .collect();
            let Some(e) = entries.first() else {
                missing.push(format!("not audited: {call}"));
                continue;
            };
            if e["ip"] != "127.0.0.1" || !e["at"].is_i64() || !e["action"].is_string() {
                missing.push(format!("incomplete entry for {call}: {e}"));
            }
            if let Some(actor) = actor
                && !entries.iter().any(|e| e["actor"] == actor.as_str())
            {
                missing.push(format!("{call} not attributed to {actor}: {entries:?}"));
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
        assert!(state_changes.len() > 50, "{}", state_changes.len());

        // /metrics needs a sign-in unless metrics_public; then anyone may read it.
        assert!(
            table
                .iter()
                .any(|r| r.path == "/metrics" && r.access == Access::Metrics)
        );
        let open = Server::start(
            db,
            "routes-metrics",
            Options {
                metrics_public: true,
                ..Options::default()
            },
        );
        let r = open.get("/metrics", &Cred::None).expect(200);
        assert!(r.body.contains("# TYPE"), "{}", r.body);
    });
}

/// The `Set-Cookie` attributes of a session cookie.
fn cookie_attributes(line: &str) -> BTreeSet<String> {
    line.split(';')
        .skip(1)
        .map(|a| a.trim().split('=').next().unwrap().to_ascii_lowercase())
        .collect()
}

#[test]
fn first_start_link_sessions_and_csrf() {
    each_backend("first_start_link_sessions_and_csrf", |db| {
        let srv = Server::start(db, "link", Options::default());
        let link = srv.first_login_link.clone().expect("a first-start link");
        assert!(link.contains("/login/link/"), "{link}");

        // The link signs in once, with a Secure, HttpOnly, SameSite session cookie.
        let r = srv.follow_link(&link).expect(303);
        assert_eq!(r.header("location"), Some("/account/password"));
        let line = r.set_cookie("palisade_session").unwrap().to_string();
        let attrs = cookie_attributes(&line);
        for a in ["secure", "httponly", "samesite", "path", "max-age"] {
            assert!(attrs.contains(a), "{a} missing: {line}");
        }
        assert!(
            line.contains("SameSite=Lax") && line.contains("Path=/"),
            "{line}"
        );
        let session = srv.session_of(&r);
        let me = srv.get("/api/v1/me", &session).expect(200).json();
        assert_eq!(me["user"]["username"], "admin");
        assert_eq!(me["role"], "admin");
        assert_eq!(me["via"]["kind"], "session");
        let again = srv.follow_link(&link).expect(404);
        assert!(again.json()["error"].is_string(), "{}", again.body);

        // CSRF: a cookie-authenticated state change needs the session's token...
        let body = json!({ "name": "ci" });
        let r = srv
            .call("POST", "/api/v1/tokens")
            .cred(&session)
            .no_csrf()
            .json(&body)
            .send()
            .expect(403);
        assert!(
            r.json()["error"].as_str().unwrap().contains("CSRF"),
            "{}",
            r.body
        );
        srv.call("POST", "/api/v1/tokens")
            .cred(&session)
            .no_csrf()
            .header("x-csrf-token", "not-the-token")
            .json(&body)
            .send()
            .expect(403);
        // ... and no request from another origin is taken, token or not.
        let r = srv
            .call("POST", "/api/v1/tokens")
            .cred(&session)
            .header("origin", "https://evil.example")
            .json(&body)
            .send()
            .expect(403);
        assert!(
            r.json()["error"].as_str().unwrap().contains("cross-origin"),
            "{}",
            r.body
        );
        let login_csrf = srv
            .call("POST", "/api/v1/login")
            .header("origin", "https://evil.example")
            .json(&json!({ "username": "admin", "password": "whatever it is" }))
            .send();
        assert_eq!(login_csrf.status, 403, "{}", login_csrf.body);
        // The form field works as well as the header, and the own origin is accepted.
        let origin = srv.base.clone();
        let token = srv
            .call("POST", "/api/v1/tokens")
            .cred(&session)
            .header("origin", &origin)
            .json(&body)
            .send()
            .expect(201)
            .json();
        assert!(token["token"].as_str().unwrap().starts_with("pal_"));
        let bearer = Cred::Bearer(token["token"].as_str().unwrap().to_string());
        // Bearer requests need no CSRF token (browsers never add the header themselves),
        // but a foreign Origin is refused for them too.
        srv.post("/api/v1/tokens", &bearer, &json!({ "name": "from-token" }))
            .expect(201);
        srv.call("POST", "/api/v1/tokens")
            .cred(&bearer)
            .header("origin", "https://evil.example")
            .json(&json!({ "name": "x" }))
            .send()
            .expect(403);
        // Form posts carry the token as a field.
        let Cred::Session { cookie, csrf } = &session else {
            unreachable!()
        };
        let form = format!("csrf_token={csrf}");
        srv.call("POST", "/api/v1/logout")
            .header("cookie", &format!("palisade_session={cookie}"))
            .body(
                "application/x-www-form-urlencoded",
                b"csrf_token=wrong".to_vec(),
            )
            .send()
            .expect(403);
        let r = srv
            .call("POST", "/api/v1/logout")
            .header("cookie", &format!("palisade_session={cookie}"))
            .body("application/x-www-form-urlencoded", form.into_bytes())
            .send()
            .expect(204);
        assert!(
            r.set_cookie("palisade_session")
                .is_some_and(|c| c.contains("Max-Age=0")),
            "{:?}",
            r.headers
        );
        srv.get("/api/v1/me", &session).expect(401);
        // The token outlives the session.
        srv.get("/api/v1/me", &bearer).expect(200);

        // The refusals are in the audit log.
        let audit = srv.audit(&bearer);
        let denied: Vec<&Value> = audit.iter().filter(|e| e["outcome"] == "denied").collect();
        assert!(
            denied
                .iter()
                .any(|e| e["details"]["reason"] == "CSRF token missing or wrong"),
            "{denied:#?}"
        );
        assert!(
            denied.iter().any(|e| e["details"]["reason"]
                .as_str()
                .unwrap_or("")
                .contains("evil.example")),
            "{denied:#?}"
        );
    });
}

#[test]
fn plain_http_cookies_and_restarts() {
    each_backend("plain_http_cookies_and_restarts", |db| {
        let mut srv = Server::start(
            db,
            "plain",
            Options {
                plain_http: true,
                ..Options::default()
            },
        );
        assert!(srv.base.starts_with("http://"));
        let link = srv.first_login_link.clone().unwrap();
        let r = srv.follow_link(&link).expect(303);
        let line = r.set_cookie("palisade_session").unwrap().to_string();
        let attrs = cookie_attributes(&line);
        assert!(
            !attrs.contains("secure"),
            "no Secure over plain HTTP: {line}"
        );
        assert!(
            attrs.contains("httponly") && attrs.contains("samesite"),
            "{line}"
        );
        assert!(r.header("strict-transport-security").is_none());
        let session = srv.session_of(&r);
        let token = srv.token(&session, "survives restarts");
        // The server uses the port it got for its links (public_url follows port 0).
        let made = srv
            .post(
                "/api/v1/users",
                &token,
                &json!({ "username": "newcomer", "role": "viewer" }),
            )
            .expect(201)
            .json();
        let link2 = made["login_link"].as_str().unwrap().to_string();
        let port = srv.base.rsplit(':').next().unwrap().to_string();
        assert!(link2.contains(&format!(":{port}/login/link/")), "{link2}");

        // A restart on the same database: no second first-start link; sessions, tokens,
        // unused links and the audit chain carry over.
        srv.restart();
        assert_eq!(srv.first_login_link, None);
        assert_eq!(
            srv.get("/api/v1/me", &session).expect(200).json()["user"]["username"],
            "admin"
        );
        srv.get("/api/v1/me", &token).expect(200);
        let r = srv.follow_link(&link2).expect(303);
        let newcomer = srv.session_of(&r);
        assert_eq!(srv.get("/api/v1/me", &newcomer).json()["role"], "viewer");
        srv.follow_link(&link).expect(404);
        let verify = srv.get("/api/v1/audit/verify", &token).expect(200).json();
        assert_eq!(verify["ok"], true);
    });
}

#[test]
fn oidc_sign_in_and_bearer_jwts() {
    each_backend("oidc_sign_in_and_bearer_jwts", |db| {
        let provider = Provider::start(Key::load("rsa-a.pem", "key-a"), &[]);
        let other = Key::load("rsa-b.pem", "key-b");
        let srv = Server::start(
            db,
            "oidc",
            Options {
                oidc: Some(provider.oidc_table()),
                ..Options::default()
            },
        );
        let browser: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();

        // One sign-in through the provider; returns the callback's answer.
        let sign_in = |user: User, keep_cookie: bool| -> Resp {
            provider.sign_in_next(user);
            let start = srv.get("/login/oidc", &Cred::None).expect(303);
            let to = start.header("location").unwrap().to_string();
            assert!(
                to.starts_with(&format!("{}/authorize?", provider.issuer())),
                "{to}"
            );
            for p in [
                "code_challenge_method=S256",
                "code_challenge=",
                "state=",
                "nonce=",
            ] {
                assert!(to.contains(p), "{p} missing: {to}");
            }
            let line = start.set_cookie("palisade_oidc").unwrap().to_string();
            assert!(
                line.contains("HttpOnly")
                    && line.contains("Secure")
                    && line.contains("Path=/login/oidc"),
                "{line}"
            );
            let binding = start.cookie_value("palisade_oidc").unwrap();
            let r = browser.get(&to).call().unwrap();
            assert_eq!(r.status().as_u16(), 302);
            let back = r.headers()["location"].to_str().unwrap().to_string();
            let path = &back[back.find("/login/oidc/callback").expect(&back)..];
            let mut call = srv.call("GET", path);
            if keep_cookie {
                call = call.header("cookie", &format!("palisade_oidc={binding}"));
            }
            call.send()
        };

        // The authorization-code flow, end to end: the role comes from the groups claim.
        let r = sign_in(
            User {
                sub: "u-ann".into(),
                username: "Ann.Analyst".into(),
                groups: vec!["engineering".into(), "sec-analysts".into()],
            },
            true,
        );
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location"), Some("/"));
        let session = srv.session_of(&r);
        let me = srv.get("/api/v1/me", &session).expect(200).json();
        assert_eq!(me["user"]["username"], "ann.analyst");
        assert_eq!(me["role"], "analyst");
        assert_eq!(
            me["user"]["oidc_subject"],
            format!("{}|u-ann", provider.issuer())
        );
        let c = provider.counters();
        assert_eq!(c.token.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(c.pkce_refused.load(std::sync::atomic::Ordering::Relaxed), 0);
        // An analyst may upload, not administer.
        srv.get("/api/v1/users", &session).expect(403);

        let admin = sign_in(
            User {
                sub: "u-root".into(),
                username: "root@example.com".into(),
                groups: vec!["sec-admins".into()],
            },
            true,
        );
        assert_eq!(admin.status, 303, "{}", admin.body);
        let admin = srv.session_of(&admin);
        assert_eq!(srv.get("/api/v1/me", &admin).json()["role"], "admin");

        // A user in no mapped group is refused; so is a callback from another browser.
        let nobody = sign_in(
            User {
                sub: "u-x".into(),
                username: "outsider".into(),
                groups: vec!["marketing".into()],
            },
            true,
        );
        assert_eq!(nobody.status, 403, "{}", nobody.body);
        assert!(nobody.set_cookie("palisade_session").is_none());
        let stolen = sign_in(
            User {
                sub: "u-ann".into(),
                username: "Ann.Analyst".into(),
                groups: vec!["sec-analysts".into()],
            },
            false,
        );
        assert_eq!(stolen.status, 400, "{}", stolen.body);
        assert!(stolen.set_cookie("palisade_session").is_none());
        // The provider saying no, and a callback with a made-up state.
        srv.get(
            "/login/oidc/callback?error=access_denied&state=x",
            &Cred::None,
        )
        .expect(401);
        srv.get("/login/oidc/callback?code=abc&state=made-up", &Cred::None)
            .expect(400);

        // The role follows the groups at the next sign-in; a local account's name is never
        // taken over; a disabled account cannot sign in.
        let promoted = sign_in(
            User {
                sub: "u-ann".into(),
                username: "Ann.Analyst".into(),
                groups: vec!["sec-admins".into()],
            },
            true,
        );
        assert_eq!(promoted.status, 303, "{}", promoted.body);
        let promoted = srv.session_of(&promoted);
        let me = srv.get("/api/v1/me", &promoted).expect(200).json();
        assert_eq!(me["role"], "admin");
        let ann_id = me["user"]["id"].as_i64().unwrap();
        srv.post(
            "/api/v1/users",
            &admin,
            &json!({ "username": "bob", "role": "viewer", "password": "bob's local password" }),
        )
        .expect(201);
        let bob = sign_in(
            User {
                sub: "u-bob".into(),
                username: "bob".into(),
                groups: vec!["engineering".into()],
            },
            true,
        );
        assert_eq!(bob.status, 303, "{}", bob.body);
        let bob = srv.session_of(&bob);
        let bob_name = srv.get("/api/v1/me", &bob).json()["user"]["username"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(bob_name.starts_with("bob-"), "{bob_name}");
        srv.call("PATCH", &format!("/api/v1/users/{ann_id}"))
            .cred(&admin)
            .json(&json!({ "disabled": true }))
            .send()
            .expect(200);
        srv.get("/api/v1/me", &promoted).expect(401);
        let disabled = sign_in(
            User {
                sub: "u-ann".into(),
                username: "Ann.Analyst".into(),
                groups: vec!["sec-admins".into()],
            },
            true,
        );
        assert_eq!(disabled.status, 403, "{}", disabled.body);
        assert!(disabled.set_cookie("palisade_session").is_none());
        let ann_jwt = provider
            .key()
            .sign(&provider.claims("u-ann", &["sec-admins"]));
        srv.get("/api/v1/me", &Cred::Bearer(ann_jwt)).expect(401);

        // Bearer JWTs on the API.
        let jwks_before = c.jwks.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            jwks_before, 1,
            "the JWKS is fetched once, at the first sign-in"
        );
        let good = provider
            .key()
            .sign(&provider.claims("svc-ci", &["sec-analysts"]));
        for _ in 0..3 {
            let me = srv
                .get("/api/v1/me", &Cred::Bearer(good.clone()))
                .expect(200)
                .json();
            assert_eq!(me["via"]["kind"], "jwt");
            assert_eq!(me["role"], "analyst");
        }
        let viewer = provider
            .key()
            .sign(&provider.claims("svc-view", &["engineering"]));
        srv.get("/api/v1/dashboard", &Cred::Bearer(viewer.clone()))
            .expect(200);
        srv.post("/api/v1/reports", &Cred::Bearer(viewer), &json!({}))
            .expect(403);

        let now = now_secs();
        let with = |patch: Value| {
            let mut claims = provider.claims("svc-ci", &["sec-analysts"]);
            for (k, v) in patch.as_object().unwrap() {
                claims[k] = v.clone();
            }
            claims
        };
        let header_a = json!({ "alg": "RS256", "typ": "JWT", "kid": "key-a" });
        let bad: Vec<(&str, String)> = vec![
            (
                "wrong iss",
                provider
                    .key()
                    .sign(&with(json!({ "iss": "http://127.0.0.1:1" }))),
            ),
            (
                "wrong aud",
                provider.key().sign(&with(json!({ "aud": "someone-else" }))),
            ),
            (
                "expired",
                provider.key().sign(&with(
                    json!({ "exp": now - 3600, "iat": now - 7200, "nbf": now - 7200 }),
                )),
            ),
            (
                "nbf in the future",
                provider.key().sign(&with(json!({ "nbf": now + 3600 }))),
            ),
            (
                "alg none",
                format!(
                    "{}.",
                    provider::signing_input(
                        &json!({ "alg": "none", "typ": "JWT", "kid": "key-a" }),
                        &with(json!({}))
                    )
                ),
            ),
            (
                "HS256 keyed with the public key",
                provider::sign_hs256(
                    &json!({ "alg": "HS256", "typ": "JWT", "kid": "key-a" }),
                    &with(json!({})),
                    provider.key().public_der(),
                ),
            ),
            (
                "signed by another key under the known kid",
                other.sign_with_header(&header_a, &with(json!({}))),
            ),
            ("unknown kid", other.sign(&with(json!({})))),
            ("garbage", "not.a.jwt".to_string()),
        ];
        for (what, token) in &bad {
            let r = srv.get("/api/v1/me", &Cred::Bearer(token.clone()));
            assert_eq!(r.status, 401, "{what}: {}", r.body);
        }
        // Valid tokens never refetch the keys; unknown kids refetch at a bounded rate.
        let jwks_after = c.jwks.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            jwks_after <= jwks_before + 1,
            "JWKS fetched {jwks_after} times"
        );
        for _ in 0..3 {
            srv.get("/api/v1/me", &Cred::Bearer(other.sign(&with(json!({})))))
                .expect(401);
            srv.get("/api/v1/me", &Cred::Bearer(good.clone()))
                .expect(200);
        }
        assert_eq!(
            c.jwks.load(std::sync::atomic::Ordering::Relaxed),
            jwks_after
        );
        assert_eq!(c.discovery.load(std::sync::atomic::Ordering::Relaxed), 1);

        // Sign-ins, good and bad, are audited with who and from where.
        let audit = srv.audit(&admin);
        let oidc_logins: Vec<&Value> = audit
            .iter()
            .filter(|e| e["action"].as_str().unwrap().starts_with("login."))
            .collect();
        assert!(oidc_logins.iter().any(|e| e["action"] == "login.success"
            && e["actor"] == "ann.analyst"
            && e["ip"] == "127.0.0.1"));
        let failures: Vec<&Value> = oidc_logins
            .iter()
            .filter(|e| e["action"] == "login.failure")
            .copied()
            .collect();
        assert!(failures.len() >= 5, "{failures:#?}");
        assert!(
            failures
                .iter()
                .any(|e| e["details"]["reason"] == "account disabled")
        );
        assert!(failures.iter().any(|e| {
            e["details"]["reason"]
                .as_str()
                .unwrap()
                .contains("no role mapping")
        }));
        // A bearer JWT's refusal to write is audited too.
        assert!(audit.iter().any(|e| e["action"] == "http.post"
            && e["outcome"] == "denied"
            && e["actor"] == "svc-view"));
    });
}

#[test]
fn audit_log_records_everything_and_exports() {
    each_backend("audit_log_records_everything_and_exports", |db| {
        let started = now_secs() as i64 * 1000 - 1000;
        let srv = Server::start(db, "audit", Options::default());
        let roles = srv.roles();
        let admin = &roles.admin.token;
        // A few more state changes and sign-in failures.
        let wrong = srv.post(
            "/api/v1/login",
            &Cred::None,
            &json!({ "username": "alice", "password": "not her password" }),
        );
        assert_eq!(wrong.status, 401);
        assert_eq!(wrong.json()["error"], "wrong username or password");
        let unknown = srv.post(
            "/api/v1/login",
            &Cred::None,
            &json!({ "username": "mallory", "password": "whatever it is" }),
        );
        assert_eq!(unknown.status, 401);
        assert_eq!(
            unknown.body, wrong.body,
            "the same answer for unknown users"
        );
        srv.call(
            "GET",
            "/login/link/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .send()
        .expect(404);
        let made = srv
            .post(
                "/api/v1/users",
                admin,
                &json!({ "username": "temp", "role": "viewer" }),
            )
            .expect(201)
            .json();
        let temp_id = made["user"]["id"].as_i64().unwrap();
        assert!(
            made["login_link"]
                .as_str()
                .unwrap()
                .contains("/login/link/")
        );
        srv.call("PATCH", &format!("/api/v1/users/{temp_id}"))
            .cred(admin)
            .json(&json!({ "disabled": true }))
            .send()
            .expect(200);
        srv.post(
            &format!("/api/v1/users/{temp_id}/password-reset"),
            admin,
            &json!({}),
        )
        .expect(200);
        let viewer_try = srv.post(
            "/api/v1/users",
            &roles.viewer.token,
            &json!({ "username": "sneaky", "role": "admin" }),
        );
        assert_eq!(viewer_try.status, 403);
        let tokens = srv
            .get("/api/v1/tokens", &roles.analyst.token)
            .expect(200)
            .json();
        let first = tokens["items"].as_array().unwrap()[0]["id"]
            .as_i64()
            .unwrap();
        srv.call("DELETE", &format!("/api/v1/tokens/{first}"))
            .cred(&roles.analyst.session)
            .send()
            .expect(204);
        let finished = now_secs() as i64 * 1000 + 1000;

        let entries = srv.audit(admin);
        let find = |action: &str, actor: &str| -> Vec<&Value> {
            entries
                .iter()
                .filter(|e| e["action"] == action && e["actor"] == actor)
                .collect()
        };
        // Every entry says who, what, when and from where.
        for e in &entries {
            let at = e["at"].as_i64().unwrap();
            assert!(e["actor"].is_string() && e["action"].is_string(), "{e}");
            assert!(e["outcome"].is_string() && e["hash"].is_string(), "{e}");
            if e["details"]["first_start"] != true {
                assert!((started..=finished).contains(&at), "{e}");
                assert_eq!(e["ip"], "127.0.0.1", "{e}");
                assert_eq!(e["user_agent"], "palisade-platform-test", "{e}");
            }
        }
        // Sign-ins, successful and not.
        assert_eq!(find("login.success", "admin").len(), 1, "the login link");
        assert_eq!(find("login.success", "alice").len(), 1);
        assert_eq!(find("login.success", "victor").len(), 1);
        let failed = find("login.failure", "alice");
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0]["details"]["reason"], "wrong password");
        assert_eq!(
            find("login.failure", "mallory")[0]["details"]["reason"],
            "unknown user"
        );
        assert_eq!(
            find("login.failure", "anonymous")[0]["details"]["reason"],
            "invalid, expired or used link"
        );
        // Every state change made above.
        assert_eq!(find("password.change", "admin").len(), 1);
        assert_eq!(
            entries
                .iter()
                .filter(|e| e["action"] == "user.create")
                .count(),
            4,
            "first-start admin, alice, victor, temp"
        );
        assert_eq!(find("token.create", "alice").len(), 1);
        assert_eq!(find("token.create", "victor").len(), 1);
        let target = format!("user:{temp_id}");
        for action in ["user.create", "user.disable", "user.password_reset"] {
            assert!(
                entries.iter().any(|e| e["action"] == action
                    && e["target"] == target.as_str()
                    && e["actor"] == "admin"
                    && e["outcome"] == "success"),
                "{action} {target}: {entries:#?}"
            );
        }
        let denied: Vec<&Value> = entries
            .iter()
            .filter(|e| e["actor"] == "victor" && e["outcome"] == "denied")
            .collect();
        assert_eq!(denied.len(), 1, "{entries:#?}");
        assert!(entries.iter().any(|e| e["actor"] == "alice"
            && e["action"] == "token.revoke"
            && e["target"] == format!("token:{first}").as_str()
            && e["outcome"] == "success"));

        // Filters.
        let logins = srv
            .get("/api/v1/audit?action=login.", admin)
            .expect(200)
            .json();
        let items = logins["items"].as_array().unwrap();
        assert!(!items.is_empty());
        assert!(
            items
                .iter()
                .all(|e| e["action"].as_str().unwrap().starts_with("login."))
        );
        let alice = srv
            .get("/api/v1/audit?actor=alice", admin)
            .expect(200)
            .json();
        assert!(
            alice["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["actor"] == "alice")
        );
        srv.get("/api/v1/audit?since=yesterday", admin).expect(400);

        // Append-only: no route changes or removes an entry.
        for route in api::routes() {
            if route.path.starts_with("/api/v1/audit") {
                assert_eq!(route.method.as_str(), "GET", "{route:?}");
            }
        }
        let count = entries.len();
        for method in ["DELETE", "PUT", "PATCH", "POST"] {
            for path in ["/api/v1/audit", "/api/v1/audit/1", "/api/v1/audit/export"] {
                let r = srv.call(method, path).cred(admin).json(&json!({})).send();
                assert!(
                    matches!(r.status, 404 | 405),
                    "{method} {path}: {}",
                    r.status
                );
            }
        }
        let after = srv.audit(admin);
        assert!(after.len() >= count);
        assert_eq!(&after[..count], &entries[..], "old entries unchanged");
        let verify = srv.get("/api/v1/audit/verify", admin).expect(200).json();
        assert_eq!(verify, json!({ "ok": true, "first_bad_id": null }));

        // Export: the whole log as a JSON download.
        let export = srv.get("/api/v1/audit/export", admin).expect(200);
        assert!(
            export
                .header("content-disposition")
                .is_some_and(|d| d.starts_with("attachment"))
        );
        assert!(
            export
                .header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        let exported: Vec<Value> = serde_json::from_str(&export.body).unwrap();
        let mut exported_ids: Vec<i64> =
            exported.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        exported_ids.sort();
        let mut ids: Vec<i64> = srv
            .audit(admin)
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        ids.sort();
        assert_eq!(exported_ids, ids);
        // Hash chain: each entry names the previous one's hash.
        let mut chain = exported.clone();
        chain.sort_by_key(|e| e["id"].as_i64().unwrap());
        for w in chain.windows(2) {
            assert_eq!(w[1]["prev_hash"], w[0]["hash"]);
        }
        // Only admins read it.
        srv.get("/api/v1/audit/export", &roles.analyst.session)
            .expect(403);
    });
}

/// The open counts of the dashboard, by severity.
fn open_counts(srv: &Server, cred: &Cred) -> Value {
    srv.get("/api/v1/dashboard", cred).expect(200).json()["open"].clone()
}

fn upload(srv: &Server, cred: &Cred, query: &str, body: Vec<u8>) -> Resp {
    srv.call("POST", &format!("/api/v1/reports{query}"))
        .cred(cred)
        .body("application/json", body)
        .send()
}

#[test]
fn uploads_reach_the_dashboard() {
    each_backend("uploads_reach_the_dashboard", |db| {
        let srv = Server::start(db, "uploads", Options::default());
        let roles = srv.roles();
        let analyst = &roles.analyst.token;
        let viewer = &roles.viewer.token;

        // Palisade JSON (`palisade scan config examples/k8s -f json`).
        let report: Value = serde_json::from_slice(&fixture("reports/palisade-k8s.json")).unwrap();
        let summary = report["summary"]["findings"].clone();
        let total = report["findings"].as_array().unwrap().len() as i64;
        let r = upload(&srv, analyst, "", report.to_string().into_bytes())
            .expect(201)
            .json();
        assert_eq!(r["format"], "palisade-json");
        assert_eq!(r["asset_key"], "repository:examples/k8s");
        assert_eq!(r["findings"], total);
        assert_eq!(r["new"], total);
        let repo_asset = r["asset_id"].as_i64().unwrap();
        let open = open_counts(&srv, viewer);
        for sev in ["critical", "high", "medium", "low"] {
            let expected = summary[sev.to_uppercase()].as_i64().unwrap_or(0);
            assert_eq!(open[sev], expected, "{sev}: {open}");
        }
        let dash = srv.get("/api/v1/dashboard", viewer).expect(200).json();
        assert_eq!(dash["assets"], 1);
        assert_eq!(dash["reports"], 1);
        assert_eq!(dash["riskiest"][0]["key"], "repository:examples/k8s");

        // SARIF from Trivy, for a second asset.
        let sarif = fixture("reports/trivy-k8s.sarif");
        let r = upload(
            &srv,
            analyst,
            "?asset=shop-manifests&kind=repository",
            sarif,
        )
        .expect(201)
        .json();
        assert_eq!(r["format"], "sarif");
        let sarif_findings = r["findings"].as_i64().unwrap();
        assert!(sarif_findings > 0);
        let sarif_asset = r["asset_id"].as_i64().unwrap();
        // Checkov on the same manifests: a report speaks only for its own scanner, so
        // Trivy's findings stay open.
        let checkov = fixture("reports/checkov-k8s.sarif");
        let r = upload(
            &srv,
            analyst,
            "?asset=shop-manifests&kind=repository",
            checkov,
        )
        .expect(201)
        .json();
        assert_eq!(r["asset_id"], sarif_asset);
        assert_eq!(r["fixed"], 0);
        let checkov_findings = r["findings"].as_i64().unwrap();
        assert!(checkov_findings > 0);
        let sarif_findings = sarif_findings + checkov_findings;

        // CycloneDX: an SBOM (kept for the asset) and one with a vulnerability.
        let sbom_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../palisade/tests/data/trivy-ks.cdx.json");
        let sbom = std::fs::read(&sbom_path).unwrap();
        let r = upload(
            &srv,
            analyst,
            "?asset=kitchen-sink&kind=image",
            sbom.clone(),
        )
        .expect(201)
        .json();
        assert_eq!(r["format"], "cyclonedx");
        let image = r["asset_id"].as_i64().unwrap();
        let stored = srv
            .get(&format!("/api/v1/assets/{image}/sbom"), viewer)
            .expect(200)
            .json();
        let original: Value = serde_json::from_slice(&sbom).unwrap();
        assert_eq!(stored["serialNumber"], original["serialNumber"]);
        assert_eq!(
            stored["components"].as_array().unwrap().len(),
            original["components"].as_array().unwrap().len()
        );
        let vex = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "metadata": { "component": { "type": "container", "name": "shop/web", "bom-ref": "img" } },
            "components": [{ "bom-ref": "pkg:npm/lodash@4.17.15", "type": "library", "name": "lodash",
                             "version": "4.17.15", "purl": "pkg:npm/lodash@4.17.15" }],
            "vulnerabilities": [{ "id": "CVE-2020-8203", "ratings": [{ "severity": "high" }],
                                  "affects": [{ "ref": "pkg:npm/lodash@4.17.15" }] }]
        });
        let r = upload(
            &srv,
            analyst,
            "?asset=shop-web&kind=image",
            vex.to_string().into_bytes(),
        )
        .expect(201)
        .json();
        assert_eq!(r["findings"], 1);
        let web = r["asset_id"].as_i64().unwrap();

        // The dashboard, the assets and the findings agree.
        let dash = srv.get("/api/v1/dashboard", viewer).expect(200).json();
        assert_eq!(dash["assets"], 4);
        assert_eq!(dash["reports"], 5);
        let open_total = |v: &Value| -> i64 {
            ["critical", "high", "medium", "low", "info", "unknown"]
                .iter()
                .map(|s| v[s].as_i64().unwrap_or(0))
                .sum()
        };
        assert_eq!(open_total(&dash["open"]), total + sarif_findings + 1);
        let assets = srv
            .get("/api/v1/assets?limit=100", viewer)
            .expect(200)
            .json();
        assert_eq!(assets["total"], 4);
        let by_id = |id: i64| {
            assets["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["id"] == id)
                .cloned()
                .unwrap()
        };
        assert_eq!(open_total(&by_id(repo_asset)["open"]), total);
        assert_eq!(open_total(&by_id(sarif_asset)["open"]), sarif_findings);
        assert_eq!(open_total(&by_id(image)["open"]), 0);
        assert_eq!(by_id(web)["open"]["high"], 1);
        let findings = srv
            .get(
                &format!("/api/v1/findings?asset={repo_asset}&limit=1000"),
                viewer,
            )
            .expect(200)
            .json();
        assert_eq!(findings["total"], total);
        let crit = srv
            .get(
                &format!("/api/v1/findings?asset={repo_asset}&severity=critical"),
                viewer,
            )
            .expect(200)
            .json();
        assert_eq!(crit["total"], summary["CRITICAL"]);
        let one = crit["items"][0]["id"].as_i64().unwrap();
        let detail = srv
            .get(&format!("/api/v1/findings/{one}"), viewer)
            .expect(200)
            .json();
        assert_eq!(detail["severity"], "CRITICAL");
        let reports = srv
            .get(&format!("/api/v1/assets/{repo_asset}/reports"), viewer)
            .expect(200)
            .json();
        assert_eq!(reports["items"].as_array().unwrap().len(), 1);
        assert_eq!(reports["items"][0]["uploaded_by"], "alice");

        // A second scan without the critical findings: they are marked fixed.
        let mut second = report.clone();
        second["findings"] = Value::Array(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["severity"] != "CRITICAL")
                .cloned()
                .collect(),
        );
        let gz = {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(second.to_string().as_bytes()).unwrap();
            enc.finish().unwrap()
        };
        let r = srv
            .call("POST", "/api/v1/reports")
            .cred(analyst)
            .header("content-encoding", "gzip")
            .body("application/json", gz)
            .send()
            .expect(201)
            .json();
        let critical = summary["CRITICAL"].as_i64().unwrap();
        assert_eq!(r["fixed"], critical);
        assert_eq!(r["new"], 0);
        assert_eq!(r["unchanged"], total - critical);
        let asset = srv
            .get(&format!("/api/v1/assets/{repo_asset}"), viewer)
            .expect(200)
            .json();
        assert_eq!(asset["open"]["critical"], 0);
        assert_eq!(open_total(&asset["open"]), total - critical);
        let sarif_critical = by_id(sarif_asset)["open"]["critical"].as_i64().unwrap();
        assert_eq!(open_counts(&srv, viewer)["critical"], sarif_critical);
        // Today's point of the trend is the current state.
        let dash = srv.get("/api/v1/dashboard", viewer).expect(200).json();
        let trend = dash["trend"].as_array().unwrap();
        assert_eq!(trend.last().unwrap()["open"], dash["open"], "{trend:?}");
        let fixed = srv
            .get(
                &format!("/api/v1/findings?asset={repo_asset}&status=fixed"),
                viewer,
            )
            .expect(200)
            .json();
        assert_eq!(fixed["total"], critical);
        let open = srv
            .get(
                &format!("/api/v1/findings?asset={repo_asset}&status=open"),
                viewer,
            )
            .expect(200)
            .json();
        assert_eq!(open["total"], total - critical);
        // The first report back: the fixed findings reopen.
        let r = upload(&srv, analyst, "", report.to_string().into_bytes())
            .expect(201)
            .json();
        assert_eq!(r["reopened"], critical);
        assert_eq!(
            open_counts(&srv, viewer)["critical"],
            critical + sarif_critical
        );

        // Uploads are audited with what they brought.
        let audit = srv.audit(&roles.admin.token);
        let uploads: Vec<&Value> = audit
            .iter()
            .filter(|e| e["action"] == "report.upload")
            .collect();
        assert_eq!(uploads.len(), 7);
        assert!(
            uploads.iter().all(|e| e["actor"] == "alice"),
            "{uploads:#?}"
        );
    });
}

#[test]
fn bad_uploads_and_bad_credentials() {
    each_backend("bad_uploads_and_bad_credentials", |db| {
        let srv = Server::start(
            db,
            "bad-input",
            Options {
                max_upload_bytes: Some(1 << 20),
                ..Options::default()
            },
        );
        let roles = srv.roles();
        let analyst = &roles.analyst.token;

        // Too large: 413 with a JSON error, also when gzip would inflate past the limit.
        // Sent as large-upload clients do, with `Expect: 100-continue`: the server answers
        // 413 from Content-Length without reading the body (which would otherwise meet a
        // closed connection half-way).
        let over = format!("{{\"pad\":\"{}\"}}", "x".repeat(2 << 20));
        let r = srv
            .call("POST", "/api/v1/reports")
            .cred(analyst)
            .header("expect", "100-continue")
            .body("application/json", over.into_bytes())
            .send()
            .expect(413);
        assert!(
            r.json()["error"].as_str().unwrap().contains("limit"),
            "{}",
            r.body
        );
        let bomb = {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(4 << 20));
            enc.write_all(big.as_bytes()).unwrap();
            enc.finish().unwrap()
        };
        assert!(bomb.len() < 64 << 10);
        let r = srv
            .call("POST", "/api/v1/reports")
            .cred(analyst)
            .header("content-encoding", "gzip")
            .body("application/json", bomb)
            .send()
            .expect(413);
        assert!(r.json()["error"].is_string());

        // Malformed JSON: 400 naming the position.
        let r = upload(
            &srv,
            analyst,
            "",
            b"{\"schema_version\": 1,\n  \"findings\": [}\n".to_vec(),
        )
        .expect(400);
        let e = r.json();
        assert!(
            e["error"].as_str().unwrap().starts_with("invalid JSON"),
            "{e}"
        );
        assert_eq!(e["detail"]["line"], 2, "{e}");
        assert!(e["detail"]["column"].as_u64().unwrap() > 0, "{e}");
        // Well-formed but wrong shape: 422 naming the JSON path.
        let r = upload(
            &srv,
            analyst,
            "",
            br#"{"schema_version":1,"scan":"config","targets":["x"],"findings":[{"severity":"HIGH"}]}"#.to_vec(),
        )
        .expect(422);
        assert_eq!(r.json()["detail"]["path"], "findings[0].rule_id");
        // Not JSON at all, and a wrong JSON body on another route.
        upload(&srv, analyst, "", b"<html>".to_vec()).expect(415);
        let r = srv
            .call("POST", "/api/v1/tokens")
            .cred(analyst)
            .body("application/json", b"{\"name\": ".to_vec())
            .send();
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.json()["error"].is_string());

        // SQL and HTML in every text field come back as they went in.
        let sql = "x'); DROP TABLE findings; --";
        let html = "<script>alert(document.cookie)</script>";
        let nasty = json!({
            "schema_version": 1, "scan": "config", "targets": ["repo"],
            "findings": [{
                "rule_id": sql, "severity": "HIGH", "title": html, "message": format!("{sql} {html}"),
                "location": { "path": "a\"b'c<d>.yaml", "start_line": 1 },
            }],
            "rules": []
        });
        let asset_name = "'; DELETE FROM assets; --<b>";
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("asset", asset_name)
            .append_pair("kind", "repository")
            .append_pair("name", asset_name)
            .finish();
        let r = upload(
            &srv,
            analyst,
            &format!("?{q}"),
            nasty.to_string().into_bytes(),
        )
        .expect(201)
        .json();
        let asset = r["asset_id"].as_i64().unwrap();
        let found = srv
            .get(&format!("/api/v1/findings?asset={asset}"), analyst)
            .expect(200);
        assert!(
            found
                .header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        let f = &found.json()["items"][0];
        assert_eq!(f["rule_id"], sql);
        assert_eq!(f["title"], html);
        let a = srv
            .get(&format!("/api/v1/assets/{asset}"), analyst)
            .expect(200)
            .json();
        assert_eq!(a["name"], asset_name);
        let search: String = form_urlencoded::byte_serialize(sql.as_bytes()).collect();
        let hits = srv
            .get(&format!("/api/v1/findings?q={search}"), analyst)
            .expect(200)
            .json();
        assert_eq!(hits["total"], 1);
        let who: String = form_urlencoded::byte_serialize(b"' OR '1'='1").collect();
        let none = srv
            .get(&format!("/api/v1/audit?actor={who}"), &roles.admin.token)
            .expect(200)
            .json();
        assert_eq!(none["items"], json!([]));
        let r = srv.post(
            "/api/v1/login",
            &Cred::None,
            &json!({ "username": "admin' --", "password": "' OR '1'='1" }),
        );
        assert_eq!(r.status, 401);
        // Nothing was dropped.
        let dash = srv.get("/api/v1/dashboard", analyst).expect(200).json();
        assert_eq!(dash["assets"], 1);
        assert_eq!(
            srv.get("/api/v1/users", &roles.admin.token)
                .expect(200)
                .json()["items"]
                .as_array()
                .map(|a| a.len())
                .unwrap_or_else(|| 0),
            3
        );

        // Forged, malformed, revoked and expired credentials: 401.
        let forged = format!("pal_{}", "A".repeat(43));
        for bad in [forged.as_str(), "pal_short", "Zm9v", "Basic"] {
            let r = srv.get("/api/v1/me", &Cred::Bearer(bad.to_string()));
            assert_eq!(r.status, 401, "{bad}: {}", r.body);
        }
        let r = srv
            .call("GET", "/api/v1/me")
            .header("authorization", "Basic YWRtaW46YWRtaW4=")
            .send();
        assert_eq!(r.status, 401);
        let r = srv
            .call("GET", "/api/v1/me")
            .header("cookie", &format!("palisade_session={}", "B".repeat(43)))
            .send();
        assert_eq!(r.status, 401);
        // A bad bearer is refused even next to a good session cookie.
        let Cred::Session { cookie, .. } = &roles.admin.session else {
            unreachable!()
        };
        let r = srv
            .call("GET", "/api/v1/me")
            .header("cookie", &format!("palisade_session={cookie}"))
            .header("authorization", &format!("Bearer {forged}"))
            .send();
        assert_eq!(r.status, 401);
        let made = srv
            .post(
                "/api/v1/tokens",
                analyst,
                &json!({ "name": "short-lived", "expires_in_days": 1 }),
            )
            .expect(201)
            .json();
        let temp = Cred::Bearer(made["token"].as_str().unwrap().to_string());
        srv.get("/api/v1/me", &temp).expect(200);
        srv.call("DELETE", &format!("/api/v1/tokens/{}", made["id"]))
            .cred(analyst)
            .send()
            .expect(204);
        srv.get("/api/v1/me", &temp).expect(401);
        // A token acts with its scope, never above its owner's role.
        let scoped = srv
            .post(
                "/api/v1/tokens",
                &roles.admin.token,
                &json!({ "name": "read-only", "scope": "viewer" }),
            )
            .expect(201)
            .json();
        let scoped = Cred::Bearer(scoped["token"].as_str().unwrap().to_string());
        assert_eq!(srv.get("/api/v1/me", &scoped).json()["role"], "viewer");
        srv.get("/api/v1/users", &scoped).expect(403);
        srv.post(
            "/api/v1/tokens",
            &roles.viewer.token,
            &json!({ "name": "escalate", "scope": "admin" }),
        )
        .expect(403);
        // A disabled owner's tokens and sessions stop working.
        srv.call("PATCH", &format!("/api/v1/users/{}", roles.viewer.id))
            .cred(&roles.admin.token)
            .json(&json!({ "disabled": true }))
            .send()
            .expect(200);
        srv.get("/api/v1/me", &roles.viewer.token).expect(401);
        srv.get("/api/v1/me", &roles.viewer.session).expect(401);
        let expired = srv.expired_token(roles.analyst.id);
        srv.get("/api/v1/me", &Cred::Bearer(expired)).expect(401);
    });
}

#[test]
fn malformed_requests_get_json_4xx() {
    each_backend("malformed_requests_get_json_4xx", |db| {
        let srv = Server::start(db, "malformed", Options::default());
        let roles = srv.roles();
        let admin = &roles.admin.token;
        let long_bearer = Cred::Bearer("x".repeat(16 << 10));
        type Case<'a> = (&'a str, &'a str, Option<(&'a str, Vec<u8>)>, &'a Cred);
        let cases: Vec<Case> = vec![
            ("GET", "/api/v1/audit?limit=0", None, admin),
            ("GET", "/api/v1/audit?limit=abc", None, admin),
            ("GET", "/api/v1/audit?bogus=1", None, admin),
            ("GET", "/api/v1/audit?until=%FF", None, admin),
            ("GET", "/api/v1/findings?offset=-1", None, admin),
            ("GET", "/api/v1/findings?severity=catastrophic", None, admin),
            ("GET", "/api/v1/findings?status=maybe", None, admin),
            ("GET", "/api/v1/findings?limit=100000", None, admin),
            ("GET", "/api/v1/assets?kind=vm", None, admin),
            ("GET", "/api/v1/assets/%FF", None, admin),
            (
                "GET",
                "/api/v1/findings/99999999999999999999999",
                None,
                admin,
            ),
            ("GET", "/api/v1/dashboard?days=-5", None, admin),
            ("GET", "/login/link/%FF%FE", None, &Cred::None),
            ("GET", "/api/v1/me", None, &long_bearer),
            (
                "POST",
                "/api/v1/reports?kind=vm&asset=x",
                Some(("application/json", b"{}".to_vec())),
                admin,
            ),
            (
                "POST",
                "/api/v1/reports?asset=a%0Ab",
                Some(("application/json", b"{}".to_vec())),
                admin,
            ),
            (
                "POST",
                "/api/v1/reports",
                Some(("application/json", Vec::new())),
                admin,
            ),
            (
                "POST",
                "/api/v1/reports",
                Some(("application/json", vec![b'['; 10_000])),
                admin,
            ),
            (
                "POST",
                "/api/v1/reports",
                Some(("application/json", b"\xff\xfe{}".to_vec())),
                admin,
            ),
            (
                "POST",
                "/api/v1/tokens",
                Some(("text/plain", b"name=x".to_vec())),
                admin,
            ),
            (
                "POST",
                "/api/v1/tokens",
                Some(("application/json", b"{\"name\": 5}".to_vec())),
                admin,
            ),
            (
                "POST",
                "/api/v1/tokens",
                Some((
                    "application/json",
                    b"{\"name\": \"x\", \"expires_in_days\": 100000}".to_vec(),
                )),
                admin,
            ),
            (
                "POST",
                "/api/v1/users",
                Some((
                    "application/json",
                    b"{\"username\": \"../../etc\", \"role\": \"viewer\"}".to_vec(),
                )),
                admin,
            ),
            (
                "POST",
                "/api/v1/users",
                Some((
                    "application/json",
                    b"{\"username\": \"x\", \"role\": \"root\"}".to_vec(),
                )),
                admin,
            ),
            (
                "POST",
                "/api/v1/users",
                Some((
                    "application/json",
                    b"{\"username\": \"shorty\", \"role\": \"viewer\", \"password\": \"short\"}"
                        .to_vec(),
                )),
                admin,
            ),
            (
                "PATCH",
                "/api/v1/users/1",
                Some(("application/json", b"{\"role\": \"viewer\"}".to_vec())),
                admin,
            ),
            (
                "POST",
                "/api/v1/login",
                Some(("application/json", b"[]".to_vec())),
                &Cred::None,
            ),
            (
                "POST",
                "/api/v1/login",
                Some((
                    "application/x-www-form-urlencoded",
                    b"username=%FF".to_vec(),
                )),
                &Cred::None,
            ),
        ];
        let mut problems = Vec::new();
        for (method, path, body, cred) in &cases {
            let mut c = srv.call(method, path).cred(cred);
            if let Some((ct, bytes)) = body {
                c = c.body(ct, bytes.clone());
            }
            let r = c.send();
            let json_error = serde_json::from_str::<Value>(&r.body)
                .ok()
                .is_some_and(|v| v["error"].is_string());
            if !(400..500).contains(&r.status) || (path.starts_with("/api/") && !json_error) {
                problems.push(format!("{method} {path}: HTTP {} {}", r.status, r.body));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        // The admin cannot demote themselves (PATCH above): still admin.
        assert_eq!(srv.get("/api/v1/me", admin).json()["role"], "admin");
    });
}

#[test]
fn sign_in_rate_limit() {
    each_backend("sign_in_rate_limit", |db| {
        let srv = Server::start(db, "ratelimit", Options::default());
        let admin = srv.admin_session();
        let password = "victor's password for tests";
        srv.create_user(&admin, "victor", "viewer", password);
        // Ten failures (each key counts: the username and the client address)...
        let mut statuses = Vec::new();
        for i in 0..10 {
            let r = srv.post(
                "/api/v1/login",
                &Cred::None,
                &json!({ "username": "victor", "password": format!("wrong password {i}") }),
            );
            statuses.push(r.status);
        }
        assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
        // ... and even the right password waits; another account from this address does not
        // (people behind one NAT or proxy must not lock each other out)...
        let r = srv.post(
            "/api/v1/login",
            &Cred::None,
            &json!({ "username": "victor", "password": password }),
        );
        assert_eq!(r.status, 429, "{}", r.body);
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!(retry > 0 && retry <= 15 * 60, "{retry}");
        assert_eq!(r.json()["detail"]["retry_after_seconds"], retry);
        let r = srv.post(
            "/api/v1/login",
            &Cred::None,
            &json!({ "username": "admin", "password": harness::ADMIN_PASSWORD }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        // ... until the address itself has failed five times the per-account limit.
        for i in 0..40 {
            let r = srv.post(
                "/api/v1/login",
                &Cred::None,
                &json!({ "username": format!("guess{i}"), "password": "nope" }),
            );
            assert_eq!(r.status, 401, "{i}: {}", r.body);
        }
        let r = srv.post(
            "/api/v1/login",
            &Cred::None,
            &json!({ "username": "admin", "password": harness::ADMIN_PASSWORD }),
        );
        assert_eq!(r.status, 429, "{}", r.body);
        // Sessions already open are not affected, and the lockout is audited.
        let audit = srv.audit(&admin);
        let limited: Vec<&Value> = audit
            .iter()
            .filter(|e| e["action"] == "login.failure" && e["details"]["reason"] == "rate limited")
            .collect();
        assert_eq!(limited.len(), 2, "{audit:#?}");
        assert_eq!(
            audit
                .iter()
                .filter(|e| e["action"] == "login.failure"
                    && e["details"]["reason"] == "wrong password")
                .count(),
            10
        );
    });
}

#[test]
fn health_openapi_metrics_and_headers() {
    each_backend("health_openapi_metrics_and_headers", |db| {
        let srv = Server::start(db, "system", Options::default());
        let roles = srv.roles();
        let h = srv.get("/healthz", &Cred::None).expect(200);
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("strict-transport-security", "max-age=31536000"),
        ] {
            assert_eq!(h.header(name), Some(value), "{name}");
        }
        assert!(
            h.header("content-security-policy")
                .unwrap()
                .contains("default-src 'none'")
        );
        srv.get("/readyz", &Cred::None).expect(200);

        // The OpenAPI document lists every route of the table, with its access.
        srv.get("/api/openapi.json", &Cred::None).expect(401);
        let doc = srv
            .get("/api/openapi.json", &roles.viewer.token)
            .expect(200)
            .json();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = doc["paths"].as_object().unwrap();
        let table = api::routes();
        for route in &table {
            let op = &paths
                .get(route.path)
                .unwrap_or_else(|| panic!("{} missing from the OpenAPI document", route.path))
                [route.method.as_str().to_lowercase()];
            assert!(
                op.is_object(),
                "{route:?} missing from the OpenAPI document"
            );
            let summary = op["summary"].as_str().unwrap_or("");
            assert_eq!(summary, route.summary, "{route:?}");
        }
        // Operation ids are unique, as OpenAPI requires (code generators name methods by them).
        let mut ids = BTreeSet::new();
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    assert!(
                        ids.insert(id.to_string()),
                        "operationId {id} repeats ({method} {path})"
                    );
                }
            }
        }
        assert_eq!(ids.len(), table.len());
        let documented: usize = paths
            .values()
            .map(|p| {
                p.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| k.as_str() != "parameters")
                    .count()
            })
            .sum();
        assert_eq!(
            documented,
            table.len(),
            "the document lists only the table's routes"
        );

        // /metrics: signed-in callers only (metrics_public is off here).
        srv.get("/metrics", &Cred::None).expect(401);
        let m = srv.get("/metrics", &roles.viewer.token).expect(200);
        assert!(m.header("content-type").unwrap().starts_with("text/plain"));
        assert!(m.body.contains("# TYPE"), "{}", m.body);

        // Single sign-on is not configured here.
        let r = srv.get("/login/oidc", &Cred::None).expect(404);
        assert!(r.json()["error"].as_str().unwrap().contains("oidc"));

        // Unknown endpoints answer JSON.
        let r = srv.get("/api/v1/nope", &roles.viewer.token).expect(404);
        assert!(r.json()["error"].is_string());
        let r = srv
            .call("PUT", "/api/v1/dashboard")
            .cred(&roles.admin.token)
            .json(&json!({}))
            .send();
        assert_eq!(r.status, 405);
        assert!(r.json()["error"].is_string());
    });
}

#[test]
fn backends_are_listed_once() {
    // Says when PostgreSQL is skipped.
    let names: Vec<&str> = harness::backends().iter().map(Db::name).collect();
    assert_eq!(names[0], "sqlite");
    assert!(names.len() <= 2);
}

/// A webhook receiver on a thread: answers 200 to every POST and keeps the bodies.
fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hook",
        listener.local_addr().unwrap().port()
    );
    let seen: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
    let log = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let mut reader = BufReader::new(sock.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0u8; len];
            if reader.read_exact(&mut body).is_ok() {
                log.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            }
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, seen)
}

/// Waits up to ten seconds for `check` to hold.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn detection(
    rule: &str,
    level: palisade_store::AlertLevel,
    user: &str,
    n: i64,
) -> palisade_store::NewAlert {
    let t = 1_790_000_000_000_000_000 + n * 1_000_000_000;
    palisade_store::NewAlert {
        rule_id: rule.into(),
        rule_title: format!("Exec into pod <b>{rule}</b>"),
        level,
        tags: vec!["attack.execution".into(), "attack.t1609".into()],
        entities: [
            ("user".to_string(), user.to_string()),
            ("namespace".to_string(), "shop".to_string()),
            ("source_ip".to_string(), "203.0.113.7".to_string()),
        ]
        .into_iter()
        .collect(),
        events: vec![palisade_store::AlertEvent {
            event_id: Some(format!("ev-{n}")),
            time_ns: t,
            source: "k8s-audit".into(),
            event: json!({ "n": n, "verb": "create", "note": "</pre><script>alert('ev')</script>" }),
        }],
        time_ns: t,
        correlation: false,
    }
}

#[test]
fn alerts_api_console_and_webhooks() {
    use palisade_store::AlertLevel;
    each_backend("alerts_api_console_and_webhooks", |db| {
        let (hook_url, hook_seen) = webhook_receiver();
        let alerts_table: toml::Value = toml::from_str(&format!(
            "dedup_window = \"10m\"\n[[webhook]]\nname = \"soc\"\nurl = \"{hook_url}\"\nformat = \"json\"\nmin_level = \"medium\"\n"
        ))
        .unwrap();
        let srv = Server::start(
            db,
            "alerts",
            Options {
                alerts: Some(alerts_table),
                ..Options::default()
            },
        );
        let roles = srv.roles();
        let sink = srv.running().alerts();
        assert_eq!(sink.dedup_window_ms(), 600_000);
        let evil = "<script>alert(1)</script>";

        // Three matches of one rule and entities (one alert, count 3), one low-level match.
        for n in 0..3 {
            sink.raise(detection("k8s-exec", AlertLevel::High, evil, n))
                .unwrap();
        }
        sink.raise(detection("k8s-low", AlertLevel::Low, "bob", 0))
            .unwrap();
        let viewer = &roles.viewer.token;
        eventually("both alerts stored", || {
            let r = srv.get("/api/v1/alerts", viewer).expect(200).json();
            r["total"] == 2
                && r["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["count"] == 3)
        });
        let page = srv
            .get("/api/v1/alerts?level=high", viewer)
            .expect(200)
            .json();
        assert_eq!(page["total"], 1);
        let a = page["items"][0].clone();
        let id = a["id"].as_i64().unwrap();
        assert_eq!(a["rule_id"], "k8s-exec");
        assert_eq!(a["count"], 3);
        assert_eq!(a["state"], "new");
        assert_eq!(a["entities"]["user"], evil);
        assert_eq!(
            srv.get("/api/v1/alerts?q=BOB", viewer).expect(200).json()["items"][0]["rule_id"],
            "k8s-low"
        );
        srv.get("/api/v1/alerts?state=open", viewer).expect(400);
        srv.get("/api/v1/alerts?level=severe", viewer).expect(400);
        let detail = srv
            .get(&format!("/api/v1/alerts/{id}"), viewer)
            .expect(200)
            .json();
        assert_eq!(detail["attack"], json!(["T1609"]));
        let events = detail["events"].as_array().unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[2]["event_id"], "ev-2");
        assert_eq!(events[0]["event"]["verb"], "create");
        srv.get("/api/v1/alerts/999999", viewer).expect(404);

        // Only the new high alert was sent: not the dedup increments, not the low one.
        eventually("the webhook got the alert", || {
            !hook_seen.lock().unwrap().is_empty()
        });
        std::thread::sleep(std::time::Duration::from_millis(500));
        {
            let seen = hook_seen.lock().unwrap();
            assert_eq!(seen.len(), 1, "{seen:?}");
            assert_eq!(seen[0]["id"], id);
            assert_eq!(seen[0]["notification"], "raised");
            assert_eq!(seen[0]["count"], 1);
            assert!(
                seen[0]["url"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/alerts/{id}")),
                "{}",
                seen[0]
            );
        }

        // Triage: viewers cannot; closing needs a reason; analysts close with one.
        let state_path = format!("/api/v1/alerts/{id}/state");
        srv.post(&state_path, viewer, &json!({ "state": "acknowledged" }))
            .expect(403);
        let analyst = &roles.analyst.token;
        let r = srv
            .post(&state_path, analyst, &json!({ "state": "closed" }))
            .expect(400);
        assert!(
            r.json()["error"].as_str().unwrap().contains("reason"),
            "{}",
            r.body
        );
        srv.post(
            &state_path,
            analyst,
            &json!({ "state": "gone", "reason": "x" }),
        )
        .expect(400);
        let closed = srv
            .post(
                &state_path,
                analyst,
                &json!({ "state": "closed", "reason": "false positive: CI debug job" }),
            )
            .expect(200)
            .json();
        assert_eq!(closed["state"], "closed");
        assert_eq!(closed["state_reason"], "false positive: CI debug job");
        assert_eq!(closed["state_by"], roles.analyst.username.as_str());
        let audit = srv.audit(&roles.admin.token);
        let entry = audit
            .iter()
            .find(|e| e["action"] == "alert.state")
            .expect("the state change is audited");
        assert_eq!(entry["target"], format!("alert:{id}"));
        assert_eq!(entry["actor"], roles.analyst.username.as_str());
        assert_eq!(entry["details"]["from"], "new");
        assert_eq!(entry["details"]["to"], "closed");
        assert_eq!(entry["details"]["reason"], "false positive: CI debug job");
        srv.get("/api/v1/audit/verify", &roles.admin.token)
            .expect(200);

        // A new match after closing: a new alert, notified again.
        sink.raise(detection("k8s-exec", AlertLevel::High, evil, 9))
            .unwrap();
        eventually("a second alert", || {
            srv.get("/api/v1/alerts?rule=k8s-exec", viewer)
                .expect(200)
                .json()["total"]
                == 2
        });
        let second = srv
            .get("/api/v1/alerts?rule=k8s-exec&state=new", viewer)
            .expect(200)
            .json();
        let id2 = second["items"][0]["id"].as_i64().unwrap();
        assert_ne!(id2, id);
        eventually("the webhook got the second alert", || {
            hook_seen.lock().unwrap().len() == 2
        });
        assert_eq!(hook_seen.lock().unwrap()[1]["id"], id2);

        // Console: list and detail, everything from the alert escaped.
        let page_of = |path: &str, cred: &Cred| {
            srv.call("GET", path)
                .cred(cred)
                .header("accept", "text/html")
                .send()
                .expect(200)
                .body
        };
        let list = page_of("/alerts", &roles.viewer.session);
        assert!(
            list.contains("href=\"/alerts\" aria-current=\"page\""),
            "nav link"
        );
        assert!(list.contains(&format!("href=\"/alerts/{id}\"")));
        assert!(list.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(list.contains("Exec into pod &lt;b&gt;k8s-exec&lt;/b&gt;"));
        assert!(!list.contains("<script>alert(1)") && !list.contains("<b>k8s-exec"));
        let closed_only = page_of("/alerts?state=closed", &roles.viewer.session);
        assert!(closed_only.contains(&format!("href=\"/alerts/{id}\"")));
        assert!(!closed_only.contains(&format!("href=\"/alerts/{id2}\"")));
        let detail = page_of(&format!("/alerts/{id}"), &roles.viewer.session);
        assert!(detail.contains("href=\"https://attack.mitre.org/techniques/T1609/\""));
        assert!(detail.contains("&lt;/pre&gt;&lt;script&gt;alert(&#39;ev&#39;)&lt;/script&gt;"));
        assert!(!detail.contains("<script>alert("));
        assert!(detail.contains("false positive: CI debug job"));
        assert!(!detail.contains("/state\""), "viewers get no triage form");
        let detail = page_of(&format!("/alerts/{id2}"), &roles.analyst.session);
        assert!(detail.contains(&format!("action=\"/alerts/{id2}/state\"")));
        assert!(detail.contains("name=\"csrf_token\""));

        // The form: a close without a reason shows the page again with the message; a good
        // one redirects back; without the CSRF token it is refused.
        let form = |body: &str, csrf: bool| {
            let mut c = srv
                .call("POST", &format!("/alerts/{id2}/state"))
                .cred(&roles.analyst.session)
                .header("accept", "text/html")
                .body(
                    "application/x-www-form-urlencoded",
                    body.as_bytes().to_vec(),
                );
            if !csrf {
                c = c.no_csrf();
            }
            c.send()
        };
        let r = form("state=closed&reason=", true);
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("needs a reason"), "{}", r.body);
        assert_eq!(form("state=acknowledged&reason=looking", false).status, 403);
        let r = form("state=acknowledged&reason=on+it", true);
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(
            r.header("location"),
            Some(format!("/alerts/{id2}").as_str())
        );
        let now = srv
            .get(&format!("/api/v1/alerts/{id2}"), viewer)
            .expect(200)
            .json();
        assert_eq!(now["state"], "acknowledged");
        assert_eq!(now["state_reason"], "on it");

        // Metrics.
        let m = srv.get("/metrics", &roles.admin.token).expect(200).body;
        assert!(
            m.contains("palisade_alerts_raised_total{level=\"high\"} 2\n"),
            "{m}"
        );
        assert!(
            m.contains("palisade_alerts_raised_total{level=\"low\"} 1\n"),
            "{m}"
        );
        assert!(m.contains("palisade_alerts_deduplicated_total 2\n"), "{m}");
        assert!(
            m.contains(
                "palisade_alert_notifications_total{webhook=\"soc\",result=\"delivered\"} 2\n"
            ),
            "{m}"
        );
        assert!(!m.contains(&hook_url), "the webhook URL is not shown");
    });
}
