//! The server under test and a client for it.
//!
//! [`Server::start`] runs `palisade serve`'s platform in-process on 127.0.0.1:0 over HTTPS
//! (a certificate made by rcgen, a client trusting only its CA), on a fresh database: a
//! SQLite file in a temporary directory, or a PostgreSQL database of its own, created for
//! the test and dropped afterwards. [`backends`] lists the databases to run each test on.
//!
//! The client is ureq without redirects or cookie handling: tests see every 303 and
//! `Set-Cookie` as the server sent them, and say which credentials a request carries.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use palisade_server::platform::{self, RunningPlatform, ServeOptions, Settings};
use palisade_server::tls;
use serde_json::{Value, json};

/// Where the server keeps its data.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite,
    /// The URL of a PostgreSQL database the test user may create databases from.
    Postgres(String),
}

impl Db {
    pub fn name(&self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

/// SQLite always; PostgreSQL too when `PALISADE_TEST_POSTGRES` is set.
pub fn backends() -> Vec<Db> {
    let mut all = vec![Db::Sqlite];
    match std::env::var("PALISADE_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => all.push(Db::Postgres(url.trim().to_string())),
        _ => eprintln!(
            "PALISADE_TEST_POSTGRES is not set: PostgreSQL is skipped (run `eval \"$(../shared/tools/services.sh)\"` to include it)"
        ),
    }
    all
}

/// Runs a test body once per backend, naming the backend when it fails.
pub fn each_backend(name: &str, test: impl Fn(&Db)) {
    for db in backends() {
        eprintln!("-- {name} on {}", db.name());
        test(&db);
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn unique(name: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{clean}_{}_{n}_{nanos:x}", std::process::id()).to_lowercase()
}

/// A PostgreSQL database made for one server and dropped after it stops.
struct PgDatabase {
    admin_url: String,
    name: String,
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

async fn pg_exec(url: &str, sql: &str) -> Result<(), String> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
    let task = tokio::spawn(conn);
    let r = client.batch_execute(sql).await.map_err(|e| e.to_string());
    drop(client);
    let _ = task.await;
    r
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = base[after_scheme..]
        .find('/')
        .map(|i| after_scheme + i)
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..authority_end])
}

impl PgDatabase {
    fn create(admin_url: &str, test: &str) -> PgDatabase {
        let name = format!("palisade_{}", unique(test));
        let name: String = name.chars().take(63).collect();
        block_on(pg_exec(admin_url, &format!("CREATE DATABASE \"{name}\"")))
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        PgDatabase {
            admin_url: admin_url.to_string(),
            name,
        }
    }

    fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = block_on(pg_exec(&self.admin_url, &sql)) {
            eprintln!("cannot drop the test database {}: {e}", self.name);
        }
    }
}

/// What a test may change about the server.
#[derive(Default)]
pub struct Options {
    pub max_upload_bytes: Option<usize>,
    pub metrics_public: bool,
    /// The `[oidc]` table.
    pub oidc: Option<toml::Value>,
    /// Plain HTTP instead of HTTPS.
    pub plain_http: bool,
    /// `[server] retention` / `retention_size`.
    pub retention: palisade_siem::store::Retention,
    /// `[server] client_ca` and `ingest_client_cns`.
    pub client_ca: Option<PathBuf>,
    pub ingest_client_cns: Vec<String>,
    /// The `[alerts]` table (dedup window, webhooks).
    pub alerts: Option<toml::Value>,
    /// The `[detect]` table (rules, selection, suppressions).
    pub detect: Option<toml::Value>,
}

/// The platform server, running.
pub struct Server {
    running: Option<RunningPlatform>,
    pub base: String,
    pub agent: ureq::Agent,
    pub first_login_link: Option<String>,
    /// Where the server keeps its data (a SQLite path or a PostgreSQL URL).
    pub database: String,
    /// The CA (PEM) that signed the server's certificate.
    #[allow(dead_code)]
    pub server_ca: String,
    settings: Settings,
    backend: &'static str,
    dir: PathBuf,
    pg: Option<PgDatabase>,
}

/// Credentials a request carries.
#[derive(Debug, Clone)]
pub enum Cred {
    None,
    /// `Authorization: Bearer …` (an API token or a JWT).
    Bearer(String),
    /// The console session cookie, and the CSRF token sent with state-changing requests.
    Session {
        cookie: String,
        csrf: String,
    },
}

/// An answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), HTTP {}: {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The `Set-Cookie` line of a cookie.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers_named("set-cookie")
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value a `Set-Cookie` gives a cookie.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        let line = self.set_cookie(name)?;
        let value = line[name.len() + 1..].split(';').next()?.trim();
        (!value.is_empty()).then(|| value.to_string())
    }

    /// Asserts a status, showing the body when it is another.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }
}

/// A request being made.
pub struct Call<'a> {
    server: &'a Server,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    csrf: Option<String>,
}

impl Call<'_> {
    pub fn cred(mut self, cred: &Cred) -> Self {
        match cred {
            Cred::None => {}
            Cred::Bearer(t) => self
                .headers
                .push(("authorization".into(), format!("Bearer {t}"))),
            Cred::Session { cookie, csrf } => {
                self.headers
                    .push(("cookie".into(), format!("palisade_session={cookie}")));
                self.csrf = Some(csrf.clone());
            }
        }
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Leaves the session's CSRF token out.
    pub fn no_csrf(mut self) -> Self {
        self.csrf = None;
        self
    }

    pub fn json(mut self, v: &Value) -> Self {
        self.headers
            .push(("content-type".into(), "application/json".into()));
        self.body = Some(v.to_string().into_bytes());
        self
    }

    pub fn body(mut self, content_type: &str, bytes: Vec<u8>) -> Self {
        self.headers
            .push(("content-type".into(), content_type.to_string()));
        self.body = Some(bytes);
        self
    }

    pub fn send(self) -> Resp {
        let url = format!("{}{}", self.server.base, self.path);
        let mut b = ureq::http::Request::builder()
            .method(self.method.as_str())
            .uri(&url);
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        {
            b = b.header("user-agent", USER_AGENT);
        }
        let unsafe_method = !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS");
        if let (true, Some(csrf)) = (unsafe_method, &self.csrf) {
            b = b.header("x-csrf-token", csrf);
        }
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        let result = match self.body {
            Some(bytes) => self.server.agent.run(b.body(bytes).unwrap()),
            None => self.server.agent.run(b.body(()).unwrap()),
        };
        let mut r = result.unwrap_or_else(|e| panic!("{} {url}: {e}", self.method));
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let streaming = r
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let body = if streaming {
            // A live stream does not end: its first message only.
            let mut reader = std::io::BufReader::new(r.body_mut().as_reader());
            let mut first = String::new();
            while !first.ends_with("\n\n") {
                if std::io::BufRead::read_line(&mut reader, &mut first).unwrap_or(0) == 0 {
                    break;
                }
            }
            first
        } else {
            r.body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_string()
                .unwrap_or_default()
        };
        Resp {
            status: r.status().as_u16(),
            headers,
            body,
        }
    }
}

/// A signed-in user: a console session and an API token of their own.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub session: Cred,
    pub token: Cred,
}

/// One user per role.
#[derive(Debug, Clone)]
pub struct Roles {
    pub admin: Person,
    pub analyst: Person,
    pub viewer: Person,
}

/// The `User-Agent` of requests that do not set their own.
pub const USER_AGENT: &str = "palisade-platform-test";

pub const ADMIN_PASSWORD: &str = "admin password for tests";

impl Server {
    pub fn start(db: &Db, name: &str, opts: Options) -> Server {
        let dir = std::env::temp_dir().join(format!("palisade-platform-{}", unique(name)));
        std::fs::create_dir_all(&dir).unwrap();
        let pg = match db {
            Db::Sqlite => None,
            Db::Postgres(url) => Some(PgDatabase::create(url, name)),
        };
        let database = match &pg {
            Some(p) => p.url(),
            None => dir.join("data/palisade.db").display().to_string(),
        };
        let certs = tls::generate(&["localhost".into(), "127.0.0.1".into()], 30, 30).unwrap();
        std::fs::write(dir.join("tls.crt"), &certs.cert).unwrap();
        std::fs::write(dir.join("tls.key"), &certs.key).unwrap();
        let mut settings =
            Settings::for_database("127.0.0.1:0".parse().unwrap(), &database, &dir.join("data"));
        if !opts.plain_http {
            settings.tls = Some((dir.join("tls.crt"), dir.join("tls.key")));
        }
        if let Some(max) = opts.max_upload_bytes {
            settings.max_upload_bytes = max;
        }
        settings.metrics_public = opts.metrics_public;
        settings.oidc = opts.oidc;
        settings.retention = opts.retention;
        settings.client_ca = opts.client_ca;
        settings.ingest_client_cns = opts.ingest_client_cns;
        settings.alerts =
            palisade_server::platform::notify::AlertSettings::from_table(opts.alerts.as_ref())
                .unwrap_or_else(|e| panic!("[alerts]: {e}"));
        settings.detect =
            palisade_server::platform::detection::DetectSettings::from_toml(opts.detect.as_ref())
                .unwrap_or_else(|e| panic!("[detect]: {e}"));
        let ca = ureq::tls::Certificate::from_pem(certs.ca_cert.as_bytes()).unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ca])))
                    .build(),
            )
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut server = Server {
            running: None,
            base: String::new(),
            agent,
            first_login_link: None,
            database,
            server_ca: certs.ca_cert.clone(),
            settings,
            backend: db.name(),
            dir,
            pg,
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let running = platform::start(ServeOptions {
            settings: self.settings.clone(),
            worker_threads: 2,
            handle_signals: false,
            log: std::env::var_os("PALISADE_TEST_LOG").is_some(),
        })
        .unwrap_or_else(|e| panic!("the server does not start on {}: {e}", self.backend));
        let scheme = if self.settings.tls.is_some() {
            "https"
        } else {
            "http"
        };
        self.base = format!("{scheme}://localhost:{}", running.local_addr().port());
        self.first_login_link = running.first_login_link().map(str::to_string);
        self.running = Some(running);
    }

    /// The server's data directory (`--data-dir`).
    #[allow(dead_code)]
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Stops the server and starts it again on the same database (on another port).
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    pub fn call(&self, method: &str, path: &str) -> Call<'_> {
        Call {
            server: self,
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
            csrf: None,
        }
    }

    pub fn get(&self, path: &str, cred: &Cred) -> Resp {
        self.call("GET", path).cred(cred).send()
    }

    pub fn post(&self, path: &str, cred: &Cred, body: &Value) -> Resp {
        self.call("POST", path).cred(cred).json(body).send()
    }

    /// Follows a login link (only its path is used: the link names the configured public
    /// URL, not the port the test server got).
    pub fn follow_link(&self, link: &str) -> Resp {
        let path = &link[link.find("/login/link/").expect("a login link")..];
        self.call("GET", path).send()
    }

    /// The session a response started, with its CSRF token from `GET /api/v1/me`.
    pub fn session_of(&self, r: &Resp) -> Cred {
        let cookie = r
            .cookie_value("palisade_session")
            .unwrap_or_else(|| panic!("no session cookie in {:?}", r.headers));
        let mut cred = Cred::Session {
            cookie: cookie.clone(),
            csrf: String::new(),
        };
        let me = self.get("/api/v1/me", &cred).expect(200).json();
        cred = Cred::Session {
            cookie,
            csrf: me["csrf_token"].as_str().unwrap().to_string(),
        };
        cred
    }

    pub fn login(&self, username: &str, password: &str) -> Cred {
        let r = self
            .post(
                "/api/v1/login",
                &Cred::None,
                &json!({ "username": username, "password": password }),
            )
            .expect(200);
        let body = r.json();
        Cred::Session {
            cookie: r.cookie_value("palisade_session").unwrap(),
            csrf: body["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    /// Signs in as admin through the first-start link and sets the admin password.
    pub fn admin_session(&self) -> Cred {
        let link = self.first_login_link.clone().expect("a first-start link");
        let r = self.follow_link(&link).expect(303);
        let cred = self.session_of(&r);
        let r = self
            .post(
                "/api/v1/me/password",
                &cred,
                &json!({ "new_password": ADMIN_PASSWORD }),
            )
            .expect(200);
        Cred::Session {
            cookie: r.cookie_value("palisade_session").unwrap(),
            csrf: r.json()["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    /// A token of the caller's own.
    pub fn token(&self, cred: &Cred, name: &str) -> Cred {
        let r = self
            .post("/api/v1/tokens", cred, &json!({ "name": name }))
            .expect(201);
        Cred::Bearer(r.json()["token"].as_str().unwrap().to_string())
    }

    /// Creates a user with a password (as admin).
    pub fn create_user(&self, admin: &Cred, username: &str, role: &str, password: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/users",
                admin,
                &json!({ "username": username, "role": role, "password": password }),
            )
            .expect(201);
        r.json()["user"]["id"].as_i64().unwrap()
    }

    /// Admin (through the first-start link), an analyst and a viewer, each with a session
    /// and a token.
    pub fn roles(&self) -> Roles {
        let admin_session = self.admin_session();
        let admin_id = self.get("/api/v1/me", &admin_session).json()["user"]["id"]
            .as_i64()
            .unwrap();
        let admin = Person {
            id: admin_id,
            username: "admin".into(),
            password: ADMIN_PASSWORD.into(),
            token: self.token(&admin_session, "admin-token"),
            session: admin_session,
        };
        let person = |name: &str, role: &str| {
            let password = format!("{name} password for tests");
            let id = self.create_user(&admin.session, name, role, &password);
            let session = self.login(name, &password);
            Person {
                id,
                username: name.into(),
                token: self.token(&session, &format!("{name}-token")),
                session,
                password,
            }
        };
        Roles {
            analyst: person("alice", "analyst"),
            viewer: person("victor", "viewer"),
            admin,
        }
    }

    /// Every audit entry, oldest first.
    pub fn audit(&self, admin: &Cred) -> Vec<Value> {
        let mut all = Vec::new();
        let mut before: Option<i64> = None;
        loop {
            let path = match before {
                Some(b) => format!("/api/v1/audit?limit=1000&before_id={b}"),
                None => "/api/v1/audit?limit=1000".into(),
            };
            let page = self.get(&path, admin).expect(200).json();
            all.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_before_id"].as_i64() {
                Some(b) => before = Some(b),
                None => break,
            }
        }
        all.reverse();
        all
    }

    /// An API token of `user_id` that expired a minute ago, written to the store directly
    /// (the API hands out only tokens that live at least a day).
    pub fn expired_token(&self, user_id: i64) -> String {
        let secret = platform::tokens::new_api_token().unwrap();
        let now = platform::state::now_millis();
        block_on(async {
            let store = palisade_store::open(&self.database).await.unwrap();
            store
                .create_token(
                    palisade_store::NewApiToken {
                        user_id,
                        name: "expired".into(),
                        secret_hash: secret.hash,
                        prefix: secret.prefix,
                        scope: palisade_store::Role::Viewer,
                        expires_at: Some(now - 60_000),
                    },
                    now - 120_000,
                )
                .await
                .unwrap();
        });
        secret.token
    }

    /// The running server (panics when stopped).
    #[allow(dead_code)]
    pub fn running(&self) -> &RunningPlatform {
        self.running.as_ref().expect("the server is running")
    }

    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        // The database goes after the server (and its connections) stopped.
        drop(self.pg.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn fixture(path: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_urls() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/test", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://h/test?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
