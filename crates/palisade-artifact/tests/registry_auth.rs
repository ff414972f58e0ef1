//! The registry client's authentication, against a registry double served by this test:
//! a Bearer-token challenge answered through a token service that checks the credentials of
//! a Docker client configuration, and a Basic challenge. (Debian's docker-registry serves the
//! anonymous path in `images.rs`; configuring it for token auth needs a signing CA, so the
//! challenge protocol is exercised here.)

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use palisade_artifact::{FileMeta, Options, TargetRef, Visitor, walk};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: corpus not found at {} (set PALISADE_CORPUS)",
            dir.display()
        );
        None
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Bearer,
    Basic,
}

struct Double {
    addr: String,
    token_requests: Arc<AtomicUsize>,
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// Serves the kitchen-sink layout as repository `ks`, tag `v1`.
fn start(layout: PathBuf, mode: Mode) -> Double {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let token_requests = Arc::new(AtomicUsize::new(0));
    let counter = token_requests.clone();
    let realm = format!("http://{addr}/token");
    std::thread::spawn(move || {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
        );
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut auth = String::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h
                    .strip_prefix("Authorization: ")
                    .or_else(|| h.strip_prefix("authorization: "))
                {
                    auth = v.trim().to_string();
                }
            }
            if path.starts_with("/token") {
                counter.fetch_add(1, Ordering::SeqCst);
                if auth == basic && path.contains("scope=repository%3Aks%3Apull") {
                    respond(&mut stream, "200 OK", &[], br#"{"token":"tok-123"}"#);
                } else {
                    respond(&mut stream, "401 Unauthorized", &[], b"{}");
                }
                continue;
            }
            let authorised = match mode {
                Mode::Bearer => auth == "Bearer tok-123",
                Mode::Basic => auth == basic,
            };
            if !authorised {
                let challenge = match mode {
                    Mode::Bearer => format!(
                        r#"Bearer realm="{realm}",service="double",scope="repository:ks:pull""#
                    ),
                    Mode::Basic => r#"Basic realm="double""#.to_string(),
                };
                respond(
                    &mut stream,
                    "401 Unauthorized",
                    &[("WWW-Authenticate", challenge)],
                    br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                );
                continue;
            }
            let index: serde_json::Value =
                serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
            let manifest_digest = index["manifests"][0]["digest"]
                .as_str()
                .unwrap()
                .to_string();
            let (digest, media) = if path == "/v2/ks/manifests/v1"
                || path == format!("/v2/ks/manifests/{manifest_digest}")
            {
                (
                    manifest_digest.clone(),
                    "application/vnd.oci.image.manifest.v1+json",
                )
            } else if let Some(d) = path.strip_prefix("/v2/ks/blobs/") {
                (d.to_string(), "application/octet-stream")
            } else {
                respond(&mut stream, "404 Not Found", &[], br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}"#);
                continue;
            };
            match std::fs::read(
                layout
                    .join("blobs/sha256")
                    .join(digest.trim_start_matches("sha256:")),
            ) {
                Ok(body) => respond(
                    &mut stream,
                    "200 OK",
                    &[("Content-Type", media.to_string())],
                    &body,
                ),
                Err(_) => respond(&mut stream, "404 Not Found", &[], b"{}"),
            }
        }
    });
    Double {
        addr,
        token_requests,
    }
}

#[derive(Default)]
struct Count(usize);

impl Visitor for Count {
    fn wants(&mut self, _: &FileMeta<'_>) -> bool {
        self.0 += 1;
        false
    }
    fn visit(&mut self, _: &FileMeta<'_>, _: &[u8]) {}
}

fn docker_config(dir: &Path, auth: Option<&str>) -> PathBuf {
    let path = dir.join("config.json");
    let body = match auth {
        Some(a) => {
            serde_json::json!({"auths": {"REGISTRY": {"auth": base64::engine::general_purpose::STANDARD.encode(a)}}})
        }
        None => serde_json::json!({"auths": {}}),
    };
    std::fs::write(&path, body.to_string()).unwrap();
    path
}

fn run(double: &Double, creds: Option<&str>) -> Result<usize, String> {
    let dir = std::env::temp_dir().join(format!(
        "palisade-auth-{}-{}",
        std::process::id(),
        double.addr.replace(':', "_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = docker_config(&dir, creds);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("REGISTRY", &double.addr);
    std::fs::write(&cfg, text).unwrap();
    let opts = Options {
        insecure_registries: vec![double.addr.clone()],
        docker_config: Some(cfg),
        ..Options::default()
    };
    let target = TargetRef::parse(&format!("{}/ks:v1", double.addr)).unwrap();
    let mut count = Count::default();
    walk(&target, &opts, &mut count)
        .map(|w| {
            assert!(w.problems.is_empty(), "{:?}", w.problems);
            count.0
        })
        .map_err(|e| e.to_string())
}

#[test]
fn bearer_tokens_and_basic_credentials() {
    let Some(corpus) = corpus() else { return };
    let layout = corpus.join("images/kitchen-sink-oci");

    let bearer = start(layout.clone(), Mode::Bearer);
    let files = run(&bearer, Some("alice:s3cret")).unwrap();
    assert!(files > 3000, "{files} files");
    assert_eq!(
        bearer.token_requests.load(Ordering::SeqCst),
        1,
        "one token, reused for every blob"
    );
    let err = run(&bearer, Some("alice:wrong")).unwrap_err();
    assert!(
        err.contains("token service") && err.contains("401"),
        "{err}"
    );

    let basic = start(layout.clone(), Mode::Basic);
    assert!(run(&basic, Some("alice:s3cret")).unwrap() > 3000);
    let err = run(&basic, None).unwrap_err();
    assert!(err.contains("docker login"), "{err}");
}
