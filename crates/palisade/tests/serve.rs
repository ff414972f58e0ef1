//! End-to-end tests of `palisade serve` and `--upload`: the real binary on a free port with a
//! temporary data directory, signed into through the login link it prints, driven over HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PRIVILEGED_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: apps\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n    securityContext:\n      privileged: true\n";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_palisade"));
    for var in [
        "NO_COLOR",
        "PALISADE_UPLOAD_URL",
        "PALISADE_TOKEN",
        "PALISADE_ASSET",
        "PALISADE_DATA_DIR",
    ] {
        c.env_remove(var);
    }
    c
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running `palisade serve`.
struct Serve {
    child: Child,
    base: String,
    link: String,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Serve {
    fn start(name: &str) -> Serve {
        let dir = tempdir(name);
        let mut child = bin()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join("data"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("palisade serve starts");
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut s = Serve {
            child,
            base: String::new(),
            link: String::new(),
            lines: rx,
            stderr: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while s.base.is_empty() || s.link.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = s.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "no address and login link on stderr:\n{}",
                    s.stderr.join("\n")
                )
            });
            if let Some(rest) = line.split("listening on ").nth(1) {
                s.base = rest.split_whitespace().next().unwrap().to_string();
            }
            if line.contains("/login/link/") {
                s.link = line.trim().to_string();
            }
            s.stderr.push(line);
        }
        assert!(s.base.starts_with("http://127.0.0.1:"), "{}", s.base);
        assert!(!s.base.ends_with(":0"), "the real port: {}", s.base);
        assert!(s.link.starts_with(&s.base), "{} vs {}", s.link, s.base);
        s
    }

    /// Stops it with SIGINT, as Ctrl-C does; returns whether it exited cleanly.
    fn interrupt(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -INT {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.stderr.push(l);
                }
                return status.success();
            }
            assert!(Instant::now() < deadline, "still running after SIGINT");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

struct Resp {
    status: u16,
    headers: ureq::http::HeaderMap,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn read(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Resp {
    let mut r = r.expect("the request is answered");
    Resp {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.body_mut().read_to_string().unwrap(),
    }
}

/// GET as a browser would (Accept: text/html), with the session cookie when given.
fn page(url: &str, cookie: Option<&str>) -> Resp {
    let mut req = agent().get(url).header("Accept", "text/html");
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    read(req.call())
}

/// Follows the login link: the session cookie (`name=value`).
fn sign_in(s: &Serve) -> String {
    let r = page(&s.link, None);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), "/account/password");
    let set = r.header("set-cookie");
    assert!(set.contains("HttpOnly"), "{set}");
    set.split(';').next().unwrap().to_string()
}

fn csrf_token(html: &str) -> String {
    let at = html
        .find("name=\"csrf_token\" value=\"")
        .expect("a form with the CSRF token");
    let rest = &html[at + "name=\"csrf_token\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// Creates an analyst API token through the console's form.
fn console_token(s: &Serve, cookie: &str) -> String {
    let tokens = page(&format!("{}/tokens", s.base), Some(cookie));
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let csrf = csrf_token(&tokens.body);
    let r = read(
        agent()
            .post(&format!("{}/tokens", s.base))
            .header("Cookie", cookie)
            .header("Accept", "text/html")
            .send_form([
                ("csrf_token", csrf.as_str()),
                ("name", "ci"),
                ("scope", "analyst"),
                ("expires_in_days", "30"),
            ]),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let at = r.body.find("pal_").expect("the token is shown once");
    let token: String = r.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    // A form without the token is refused.
    let r = read(
        agent()
            .post(&format!("{}/tokens", s.base))
            .header("Cookie", cookie)
            .send_form([("name", "no-csrf")]),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    token
}

fn scan_upload(dir: &Path, args: &[&str]) -> Output {
    bin()
        .args(["scan", "config"])
        .arg(dir.join("deploy"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("palisade scan runs")
}

#[test]
fn first_start_prints_a_login_link_that_opens_the_dashboard() {
    let mut s = Serve::start("first-start");
    let text = s.stderr.join("\n");
    assert!(text.contains("first start"), "{text}");
    assert!(!text.contains("WARNING"), "loopback is not exposed: {text}");

    // Not signed in: pages send the browser to the sign-in page, the API answers 401.
    let r = page(&format!("{}/findings?severity=HIGH", s.base), None);
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        "/login?next=%2Ffindings%3Fseverity%3DHIGH"
    );
    let r = page(&format!("{}/login?next=/findings", s.base), None);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("text/html"));
    assert!(r.body.contains("action=\"/login\""), "{}", r.body);
    assert!(r.body.contains("value=\"/findings\""), "{}", r.body);
    assert!(!r.body.contains("Sign in with SSO"), "no OIDC configured");
    assert_eq!(
        read(agent().get(&format!("{}/api/v1/dashboard", s.base)).call()).status,
        401
    );

    let cookie = sign_in(&s);
    // The link works once.
    assert_eq!(page(&s.link, None).status, 404);

    let r = page(&format!("{}/", s.base), Some(&cookie));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("content-type").starts_with("text/html"));
    assert!(
        r.header("content-security-policy")
            .contains("script-src 'self'")
    );
    assert!(r.body.contains("<h1>Dashboard</h1>"), "{}", r.body);
    assert!(r.body.contains("<svg class=\"chart trend\""), "{}", r.body);
    assert!(r.body.contains("Riskiest assets"), "{}", r.body);
    assert!(r.body.contains("href=\"/static/console.css\""));
    // No inline script or style: the CSP would block them.
    assert!(!r.body.contains("<script>") && !r.body.contains("style="));

    for (path, ty) in [
        ("/static/console.css", "text/css"),
        ("/static/console.js", "text/javascript"),
    ] {
        let r = page(&format!("{}{path}", s.base), None);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").starts_with(ty), "{path}");
    }
    assert_eq!(
        page(&format!("{}/static/nope.js", s.base), None).status,
        404
    );
    // Errors outside the API are pages for browsers, JSON for everyone else.
    let r = page(&format!("{}/nope", s.base), Some(&cookie));
    assert_eq!(r.status, 404);
    assert!(
        r.header("content-type").starts_with("text/html"),
        "{}",
        r.body
    );
    assert!(r.body.contains("no such endpoint"), "{}", r.body);
    let r = read(agent().get(&format!("{}/nope", s.base)).call());
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string());

    // The admin sees every page.
    for path in ["/findings", "/assets", "/audit", "/users", "/tokens"] {
        let r = page(&format!("{}{path}", s.base), Some(&cookie));
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let audit = page(&format!("{}/audit", s.base), Some(&cookie));
    assert!(audit.body.contains("login.success"), "{}", audit.body);
    assert!(
        audit.body.contains("/api/v1/audit/export"),
        "{}",
        audit.body
    );

    // Users: create one without a password (a login link is shown once), change its role.
    let csrf = csrf_token(&audit.body);
    let post = |path: &str, form: &[(&str, &str)]| {
        read(
            agent()
                .post(&format!("{}{path}", s.base))
                .header("Cookie", &cookie)
                .header("Accept", "text/html")
                .send_form(form.iter().copied()),
        )
    };
    let r = post(
        "/users",
        &[
            ("csrf_token", &csrf),
            ("username", "Carol"),
            ("display_name", "Carol <Ops>"),
            ("role", "viewer"),
            ("password", ""),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.contains("/login/link/"), "{}", r.body);
    assert!(r.body.contains("Carol &lt;Ops&gt;"), "{}", r.body);
    let users = read(
        agent()
            .get(&format!("{}/api/v1/users", s.base))
            .header("Cookie", &cookie)
            .call(),
    )
    .json();
    let carol = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "carol")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = post(
        &format!("/users/{carol}"),
        &[("csrf_token", &csrf), ("role", "analyst")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = post(
        "/users",
        &[
            ("csrf_token", &csrf),
            ("username", "carol"),
            ("role", "viewer"),
        ],
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("already exists"), "{}", r.body);
    // A token made and revoked in the console stops working.
    let token = console_token(&s, &cookie);
    let me = |t: &str| {
        read(
            agent()
                .get(&format!("{}/api/v1/me", s.base))
                .header("Authorization", &format!("Bearer {t}"))
                .call(),
        )
        .status
    };
    assert_eq!(me(&token), 200);
    let list = read(
        agent()
            .get(&format!("{}/api/v1/tokens", s.base))
            .header("Cookie", &cookie)
            .call(),
    )
    .json();
    let id = list["items"][0]["id"].as_i64().unwrap();
    let r = post(&format!("/tokens/{id}/revoke"), &[("csrf_token", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(me(&token), 401);

    // Sign out: the session ends.
    let csrf = csrf_token(&audit.body);
    let r = read(
        agent()
            .post(&format!("{}/logout", s.base))
            .header("Cookie", &cookie)
            .send_form([("csrf_token", csrf.as_str())]),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), "/login");
    assert_eq!(page(&format!("{}/", s.base), Some(&cookie)).status, 303);

    assert!(s.interrupt(), "exits 0 on SIGINT");
    assert!(
        s.stderr.iter().any(|l| l.contains("stopped")),
        "{}",
        s.stderr.join("\n")
    );
}

#[test]
fn scan_upload_lands_in_the_api_and_the_console_escapes_it() {
    let s = Serve::start("upload");
    let cookie = sign_in(&s);
    let token = console_token(&s, &cookie);

    let dir = tempdir("upload-project");
    std::fs::create_dir_all(dir.join("deploy")).unwrap();
    std::fs::write(dir.join("deploy/pod.yaml"), PRIVILEGED_POD).unwrap();

    let o = scan_upload(
        &dir,
        &["-f", "json", "--upload", &s.base, "--token", &token],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let report: Value = serde_json::from_slice(&o.stdout).expect("the JSON report on stdout");
    let scanned = report["findings"].as_array().unwrap().len();
    assert!(scanned > 0);
    assert!(err.contains("uploaded"), "{err}");
    assert!(err.contains(&format!("{scanned} new")), "{err}");

    // The findings are in the API.
    let api = |path: &str| {
        read(
            agent()
                .get(&format!("{}{path}", s.base))
                .header("Authorization", &format!("Bearer {token}"))
                .call(),
        )
    };
    let findings = api("/api/v1/findings?limit=1000").json();
    assert_eq!(
        findings["total"].as_i64(),
        Some(scanned as i64),
        "{findings}"
    );
    assert!(
        findings["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "PAL-K8S-001")
    );
    // And in the console.
    let r = page(
        &format!("{}/findings?severity=CRITICAL", s.base),
        Some(&cookie),
    );
    assert!(r.body.contains("PAL-K8S-001"), "{}", r.body);
    let r = page(&format!("{}/", s.base), Some(&cookie));
    assert!(r.body.contains("deploy"), "the asset: {}", r.body);

    // The same scan again: nothing new, nothing fixed.
    let o = scan_upload(
        &dir,
        &["-f", "json", "--upload", &s.base, "--token", &token],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("0 new, {scanned} unchanged")),
        "{err}"
    );
    assert_eq!(api("/api/v1/assets").json()["total"], 1);
    // SARIF does not name the asset: the upload names it (here with --asset).
    let o = scan_upload(
        &dir,
        &[
            "-f", "sarif", "--upload", &s.base, "--token", &token, "--asset", "web",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("for asset repository:web"), "{err}");
    assert!(o.stdout.starts_with(b"{"), "the SARIF report on stdout");
    // The same scan as SARIF onto the JSON upload's asset (named by the scanned path): the
    // findings are recognised (JSON and SARIF carry the same fingerprints), nothing new,
    // nothing fixed.
    let target = dir.join("deploy").to_string_lossy().into_owned();
    let o = scan_upload(
        &dir,
        &[
            "-f", "sarif", "--upload", &s.base, "--token", &token, "--asset", &target,
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("for asset repository:{target}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("0 new, {scanned} unchanged, 0 reopened, 0 fixed")),
        "{err}"
    );

    // A failed upload: the report is still written, the exit status says it failed.
    let o = scan_upload(
        &dir,
        &["-f", "json", "--upload", &s.base, "--token", "pal_wrong"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(serde_json::from_slice::<Value>(&o.stdout).is_ok());
    // Environment variables work as the flags do; --upload without a token is refused.
    let o = bin()
        .args(["scan", "config", "deploy", "-q"])
        .current_dir(&dir)
        .env("PALISADE_UPLOAD_URL", &s.base)
        .env("PALISADE_TOKEN", &token)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let o = scan_upload(&dir, &["--upload", &s.base]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--token"));

    // HTML in an uploaded report is shown as text, never run.
    let evil = json!({
        "schema_version": 1,
        "scan": "config",
        "targets": ["<script>alert('asset')</script>"],
        "files": [],
        "findings": [{
            "rule_id": "EVIL-<b>1</b>",
            "severity": "HIGH",
            "title": "<script>alert('title')</script>",
            "message": "<img src=x onerror=alert(1)> \"quoted\"",
            "location": "<svg onload=alert(2)>",
            "fingerprint": "evil-1",
        }],
    });
    let r = read(
        agent()
            .post(&format!("{}/api/v1/reports", s.base))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(evil.to_string().as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let asset_id = r.json()["asset_id"].as_i64().unwrap();
    let finding_id = api(&format!("/api/v1/findings?asset={asset_id}")).json()["items"][0]["id"]
        .as_i64()
        .unwrap();
    for path in [
        "/".to_string(),
        "/findings".to_string(),
        "/findings?severity=HIGH&rule=EVIL-%3Cb%3E1%3C%2Fb%3E".to_string(),
        "/assets".to_string(),
        format!("/assets/{asset_id}"),
        format!("/findings/{finding_id}"),
        "/audit".to_string(),
        "/alerts".to_string(),
    ] {
        let r = page(&format!("{}{path}", s.base), Some(&cookie));
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        for raw in ["<script>alert", "<img src=x", "<b>1</b>", "<svg onload"] {
            assert!(!r.body.contains(raw), "{path} has {raw} unescaped");
        }
    }
    let r = page(&format!("{}/findings/{finding_id}", s.base), Some(&cookie));
    assert!(
        r.body
            .contains("&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("&lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot;")
    );
}

/// A refused upload of a large report shows the server's answer. The server refuses a bad
/// token before reading the body and closes the connection; a client that had already sent
/// the body saw that close as a reset ("Broken pipe") in some runs instead of the 401.
#[test]
fn refused_large_upload_shows_the_answer() {
    let s = Serve::start("upload-refused");
    let dir = tempdir("upload-refused-project");
    std::fs::create_dir_all(dir.join("deploy")).unwrap();
    let pods: Vec<String> = (0..400)
        .map(|i| PRIVILEGED_POD.replace("name: p\n", &format!("name: p{i}\n")))
        .collect();
    std::fs::write(dir.join("deploy/pods.yaml"), pods.join("---\n")).unwrap();
    for run in 0..8 {
        let o = scan_upload(
            &dir,
            &["-f", "json", "--upload", &s.base, "--token", "pal_wrong"],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "run {run}: {err}");
        assert!(
            err.contains("HTTP 401") && err.contains("check the token"),
            "run {run}: {err}"
        );
        assert!(o.stdout.len() > 1_000_000, "{} bytes", o.stdout.len());
    }
}

/// A refused request whose body arrives after its headers is read to its end before the
/// answer, so the connection stays open for the next request. Before, the server answered
/// at the headers and closed the connection under the body: a client reusing it lost its next
/// request ("Peer disconnected").
#[test]
fn refused_request_keeps_the_connection() {
    use std::io::{Read, Write};
    let s = Serve::start("refused-keepalive");
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = r#"{"name":"x"}"#;
    write!(
        conn,
        "POST /api/v1/reports HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer pal_wrong\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(body.as_bytes()).unwrap();
    // The next request on the same connection, sent before reading the first answer.
    write!(
        conn,
        "GET /api/v1/findings HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answers = String::new();
    let _ = conn.read_to_string(&mut answers);
    // Both answers, the first without `connection: close`.
    assert_eq!(answers.matches("HTTP/1.1 ").count(), 2, "{answers:?}");
    assert_eq!(
        answers.matches("HTTP/1.1 401 Unauthorized").count(),
        2,
        "{answers:?}"
    );
}

#[test]
fn bad_settings_are_clear_errors() {
    let dir = tempdir("bad-settings");
    std::fs::write(
        dir.join("palisade.toml"),
        "[server]\nlisten = \"127.0.0.1:7878\"\nlistne = 1\n",
    )
    .unwrap();
    // The server reads settings only from --config (or $PALISADE_CONFIG), never from a
    // palisade.toml it finds in the project.
    let o = bin()
        .args(["serve", "--config", "palisade.toml", "--data-dir", "data"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("palisade.toml:3"), "{err}");
    assert!(err.contains("listne"), "{err}");

    // The same file with [server] still works for scans.
    std::fs::write(
        dir.join("palisade.toml"),
        "[server]\nlisten = \"127.0.0.1:7878\"\n[scan]\nexit-code = 3\n",
    )
    .unwrap();
    std::fs::write(dir.join("pod.yaml"), PRIVILEGED_POD).unwrap();
    let o = bin()
        .args(["scan", "config", "pod.yaml", "-q"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = bin()
        .args(["serve", "--data-dir", "data", "--tls-cert", "missing.crt"])
        .args(["--tls-key", "missing.key", "--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("missing.crt"), "{err}");

    // --reset-admin: a new one-time link on stdout, then exit.
    let o = bin()
        .args(["serve", "--data-dir", "data", "--reset-admin"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.trim().starts_with("http://127.0.0.1:7878/login/link/"),
        "{out}"
    );

    // Secrets in full are not uploaded.
    let o = bin()
        .args(["scan", "secrets", ".", "--show-secrets"])
        .args(["--upload", "http://127.0.0.1:9", "--token", "pal_x"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--show-secrets"));

    let o = bin()
        .args(["serve", "--listen", "not-an-address"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
