//! Syslog listeners of `palisade serve` (`platform::sources`) with real senders: util-linux
//! `logger` over UDP and TCP in RFC 5424 and RFC 3164, rsyslog forwarding with `omfwd`
//! (octet-counted TCP), and hand-made frames: octet counts split across writes, a malformed
//! frame length, an oversized message, a TLS client. Events are checked in the event store
//! with exact counts and fields. SQLite only: the listeners do not depend on the backend.
//!
//! Tests needing `logger` or `rsyslogd` say so and pass when they are missing (CI installs
//! them: see .ci/run).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_server::platform::config::{ConfigFile, Overrides, SyslogListener, SyslogTransport};
use palisade_server::platform::{self, RunningPlatform, ServeOptions, Settings};
use palisade_siem::Event;
use palisade_siem::store::{self, EventStore, Order, Search};

const DAY_NS: i64 = 86_400_000_000_000;

struct Srv {
    running: Option<RunningPlatform>,
    dir: PathBuf,
    events: EventStore,
    rt: tokio::runtime::Runtime,
}

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!(
        "palisade-syslog-{name}-{}-{nanos:x}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Srv {
    fn start(name: &str, listeners: Vec<SyslogListener>) -> Srv {
        let dir = temp_dir(name);
        Srv::start_in(dir, listeners)
    }

    fn start_in(dir: PathBuf, listeners: Vec<SyslogListener>) -> Srv {
        let data = dir.join("data");
        let mut settings = Settings::for_database(
            "127.0.0.1:0".parse().unwrap(),
            &data.join("palisade.db").display().to_string(),
            &data,
        );
        settings.metrics_public = true;
        settings.syslog = listeners;
        let running = platform::start(ServeOptions {
            settings,
            worker_threads: 2,
            handle_signals: false,
            log: std::env::var_os("PALISADE_TEST_LOG").is_some(),
        })
        .unwrap_or_else(|e| panic!("the server does not start: {e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let location = data.join("events.db").display().to_string();
        let events = rt.block_on(store::open(&location)).unwrap();
        Srv {
            running: Some(running),
            dir,
            events,
            rt,
        }
    }

    fn addr(&self, i: usize) -> SocketAddr {
        self.running.as_ref().unwrap().syslog_addrs()[i]
    }

    fn http(&self) -> SocketAddr {
        self.running.as_ref().unwrap().local_addr()
    }

    fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.http());
        ureq::get(&url)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    }

    fn search(&self, q: &str) -> Vec<Event> {
        let query = palisade_siem::query::parse(q).unwrap();
        let now = now_nanos();
        let mut s = Search::new(&query, 0, now + 2 * DAY_NS);
        s.limit = 10_000;
        s.order = Order::Asc;
        let r = self.rt.block_on(self.events.search(&s)).unwrap();
        r.events.into_iter().map(|h| h.event).collect()
    }

    /// The events matching `q` once there are `n` (waits up to 15 s, then fails naming
    /// what it has).
    fn wait_for(&self, q: &str, n: usize) -> Vec<Event> {
        let started = Instant::now();
        loop {
            let got = self.search(q);
            if got.len() == n {
                // No more arrive than expected.
                std::thread::sleep(Duration::from_millis(300));
                let again = self.search(q);
                assert_eq!(again.len(), n, "{q}: {again:#?}");
                return again;
            }
            assert!(got.len() < n, "{q}: more than {n}: {got:#?}");
            if started.elapsed() > Duration::from_secs(15) {
                panic!("{q}: {} of {n} events after 15 s: {got:#?}", got.len());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn shutdown(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
        }
    }
}

impl Drop for Srv {
    fn drop(&mut self) {
        self.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn listener(t: SyslogTransport, source: &str) -> SyslogListener {
    SyslogListener::new(t, "127.0.0.1:0".parse().unwrap(), source)
}

/// The path of a tool on `PATH` or in /usr/sbin and /sbin (rsyslogd lives there, which
/// is not on every user's `PATH`), or a note that the test is skipped.
fn find(tool: &str, test: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = on_path
        .into_iter()
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(tool))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "SKIPPED {test}: `{tool}` is not installed (apt-get install {}); the test passes without it",
            if tool == "logger" {
                "bsdutils"
            } else {
                "rsyslog"
            }
        );
    }
    found
}

fn have(tool: &str, test: &str) -> bool {
    find(tool, test).is_some()
}

fn short_hostname() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    h.trim().split('.').next().unwrap_or("").to_string()
}

/// Runs logger with these arguments, the lines of `input` on stdin (one message each).
fn logger(args: &[&str], input: &str) {
    let mut child = Command::new("logger")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "logger {args:?}: {status}");
}

#[test]
fn logger_over_udp_and_tcp_in_both_formats() {
    if !have("logger", "logger_over_udp_and_tcp_in_both_formats") {
        return;
    }
    let srv = Srv::start(
        "logger",
        vec![
            listener(SyslogTransport::Udp, "edge-udp"),
            listener(SyslogTransport::Tcp, "edge-tcp"),
        ],
    );
    let udp = srv.addr(0).port().to_string();
    let tcp = srv.addr(1).port().to_string();
    let lines = |tag: &str| {
        (1..=3)
            .map(|i| format!("{tag} message {i}\n"))
            .collect::<String>()
    };
    let sd = ["--sd-id", "palisade@32473", "--sd-param", "run=\"r1\""];
    let base = |port: &str, proto: &'static str, format: &'static str, tag: &'static str| {
        vec![
            "--server".to_string(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            proto.into(),
            format.into(),
            "-t".into(),
            tag.into(),
            "-p".into(),
            "auth.warning".into(),
        ]
    };
    let run = |mut args: Vec<String>, extra: &[&str], tag: &str| {
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        logger(&refs, &lines(tag));
    };
    run(
        base(&udp, "--udp", "--rfc5424", "pal-udp-5424"),
        &[&["--msgid", "UDPMSG"][..], &sd[..]].concat(),
        "pal-udp-5424",
    );
    run(
        base(&udp, "--udp", "--rfc3164", "pal-udp-3164"),
        &[],
        "pal-udp-3164",
    );
    run(
        base(&tcp, "--tcp", "--rfc5424", "pal-tcp-5424-oc"),
        &[&["--octet-count", "--msgid", "TCPMSG"][..], &sd[..]].concat(),
        "pal-tcp-5424-oc",
    );
    run(
        base(&tcp, "--tcp", "--rfc5424", "pal-tcp-5424-lf"),
        &["--msgid", "LFMSG"],
        "pal-tcp-5424-lf",
    );
    run(
        base(&tcp, "--tcp", "--rfc3164", "pal-tcp-3164"),
        &[],
        "pal-tcp-3164",
    );
    let host = short_hostname();

    let all = srv.wait_for("kind:syslog", 15);
    assert!(all.iter().all(|e| e.parse_error.is_none()), "{all:#?}");
    assert!(
        all.iter()
            .all(|e| e.source_ip.as_deref() == Some("127.0.0.1"))
    );

    for (tag, source, msgid) in [
        ("pal-udp-5424", "edge-udp", Some("UDPMSG")),
        ("pal-tcp-5424-oc", "edge-tcp", Some("TCPMSG")),
        ("pal-tcp-5424-lf", "edge-tcp", Some("LFMSG")),
        ("pal-udp-3164", "edge-udp", None),
        ("pal-tcp-3164", "edge-tcp", None),
    ] {
        let got = srv.wait_for(&format!("app_name:{tag}"), 3);
        assert_eq!(
            srv.search(&format!("action:{tag} source:{source}")).len(),
            3
        );
        for (i, e) in got.iter().enumerate() {
            assert_eq!(e.kind, "syslog");
            assert_eq!(e.source, source);
            assert_eq!(
                e.fields["message"],
                format!("{tag} message {}", i + 1),
                "{e:#?}"
            );
            assert_eq!(e.fields["facility_name"], "auth", "{e:#?}");
            assert_eq!(e.fields["severity_name"], "warning", "{e:#?}");
            let h = e.host.as_deref().unwrap_or("");
            assert!(
                h == host || h.starts_with(&format!("{host}.")),
                "host {h:?}, expected {host:?}: {e:#?}"
            );
            match msgid {
                Some(id) => {
                    assert_eq!(e.fields["version"], 1);
                    assert_eq!(e.fields["msgid"], id, "{e:#?}");
                }
                None => assert!(e.fields.get("msgid").is_none(), "{e:#?}"),
            }
        }
    }
    // Structured data, where it was sent.
    let sd = srv.search("structured_data.palisade@32473.run:r1");
    assert_eq!(sd.len(), 6, "{sd:#?}");
    assert_eq!(srv.search("msgid:TCPMSG source:edge-tcp").len(), 3);

    let m = srv.metrics();
    assert!(
        m.contains("palisade_syslog_messages_total{transport=\"udp\"} 6\n"),
        "{m}"
    );
    assert!(
        m.contains("palisade_syslog_messages_total{transport=\"tcp\"} 9\n"),
        "{m}"
    );
    assert!(
        m.contains("palisade_events_total{result=\"accepted\"} 15\n"),
        "{m}"
    );
}

#[test]
fn rsyslog_forwards_with_omfwd_octet_counted() {
    const TEST: &str = "rsyslog_forwards_with_omfwd_octet_counted";
    let Some(rsyslogd_path) = find("rsyslogd", TEST) else {
        return;
    };
    if !have("logger", TEST) {
        return;
    }
    let srv = Srv::start("rsyslog", vec![listener(SyslogTransport::Tcp, "relay")]);
    let port = srv.addr(0).port();
    let dir = srv.dir.join("rsyslog");
    std::fs::create_dir_all(dir.join("work")).unwrap();
    let sock = dir.join("log.sock");
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" RateLimit.Interval="0" CreatePath="on")
action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
"#,
            work = dir.join("work").display(),
            sock = sock.display(),
        ),
    )
    .unwrap();
    let pidfile = dir.join("rsyslogd.pid");
    let rsyslogd = match Command::new(&rsyslogd_path)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(&pidfile)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIPPED {TEST}: rsyslogd cannot be started here: {e}");
            return;
        }
    };
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    // Killed (by its process, never by name) however the test ends.
    let mut rsyslogd = Kill(rsyslogd);
    let started = Instant::now();
    while !sock.exists() {
        if let Ok(Some(status)) = rsyslogd.0.try_wait() {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(rsyslogd.0.stderr.as_mut().unwrap(), &mut err);
            eprintln!("SKIPPED {TEST}: rsyslogd exited at start ({status}): {err}");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "rsyslogd did not create {}",
            sock.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let sock_arg = sock.display().to_string();
    let input: String = (1..=20)
        .map(|i| format!("forwarded by rsyslog {i}\n"))
        .collect();
    logger(
        &["-u", &sock_arg, "-t", "pal-relayed", "-p", "local3.notice"],
        &input,
    );
    let got = srv.wait_for("app_name:pal-relayed", 20);
    let host = short_hostname();
    for (i, e) in got.iter().enumerate() {
        assert!(e.parse_error.is_none(), "{e:#?}");
        assert_eq!(e.source, "relay");
        assert_eq!(e.fields["version"], 1, "{e:#?}");
        assert_eq!(e.fields["facility_name"], "local3");
        assert_eq!(e.fields["severity_name"], "notice");
        assert_eq!(
            e.fields["message"].as_str().map(str::trim),
            Some(format!("forwarded by rsyslog {}", i + 1).as_str()),
            "{e:#?}"
        );
        let h = e.host.as_deref().unwrap_or("");
        assert!(h == host || h.starts_with(&format!("{host}.")), "{e:#?}");
        assert!(!e.raw.ends_with('\n'));
    }
    assert_eq!(srv.search("\"forwarded by rsyslog\"").len(), 20);
}

fn send_all(s: &mut TcpStream, parts: &[&[u8]]) {
    s.set_nodelay(true).unwrap();
    for p in parts {
        s.write_all(p).unwrap();
        s.flush().unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
}

#[test]
fn tcp_framing_split_malformed_oversized_and_shutdown() {
    let mut small = listener(SyslogTransport::Tcp, "raw");
    small.max_message_bytes = 1024;
    let mut srv = Srv::start("framing", vec![small]);
    let addr = srv.addr(0);

    let m1 = b"<13>1 2024-05-01T10:00:00Z h1 split - S1 [x@1 a=\"1\"] first";
    let frame1 = [format!("{} ", m1.len()).as_bytes(), &m1[..]].concat();
    let m2 = b"<13>1 2024-05-01T10:00:01Z h1 split - S2 - second";
    let frame2 = [format!("{} ", m2.len()).as_bytes(), &m2[..]].concat();
    let mut c = TcpStream::connect(addr).unwrap();
    // The count split from its space, the message split mid-way, two frames in one write.
    let joined = [&frame1[12..], &frame2[..5]].concat();
    send_all(
        &mut c,
        &[
            &frame1[..1],
            &frame1[1..4],
            &frame1[4..12],
            &joined,
            &frame2[5..],
        ],
    );
    // A malformed length, then an LF frame and a good octet-counted frame after it.
    send_all(
        &mut c,
        &[b"12x <13>Oct 11 22:14:15 h2 badlen: resync\n<13>Oct 11 22:14:15 h2 after: ok\n7 <13>h3 "],
    );
    // An oversized message, octet-counted and LF-terminated.
    let big = format!(
        "<13>1 2024-05-01T10:00:02Z h4 big - - - {}",
        "x".repeat(5000)
    );
    let frame = format!("{} {big}", big.len());
    send_all(&mut c, &[frame.as_bytes(), format!("{big}\n").as_bytes()]);
    // A frame cut by the connection closing.
    send_all(&mut c, &[b"100 <13>1 - h5 cut - - - partial"]);
    drop(c);

    let got = srv.wait_for("app_name:split", 2);
    assert_eq!(got[0].fields["msgid"], "S1");
    assert_eq!(got[0].fields["structured_data"]["x@1"]["a"], "1");
    assert_eq!(got[0].fields["message"], "first");
    assert_eq!(got[0].raw.as_bytes(), m1);
    assert_eq!(got[1].fields["message"], "second");

    // Malformed: the bad length, a line that is no syslog, the frame cut by the close.
    let bad = srv.wait_for("parse_error:*", 3);
    assert!(
        bad[0]
            .parse_error
            .as_deref()
            .unwrap()
            .contains("octet count"),
        "{bad:#?}"
    );
    assert_eq!(bad[0].raw, "12x <13>Oct 11 22:14:15 h2 badlen: resync");
    assert_eq!(bad[1].raw, "<13>h3 ");
    assert!(
        bad[1]
            .parse_error
            .as_deref()
            .unwrap()
            .contains("not a syslog line"),
        "{bad:#?}"
    );
    assert!(
        bad[2]
            .parse_error
            .as_deref()
            .unwrap()
            .contains("closed after 28 of 100 bytes"),
        "{bad:#?}"
    );
    assert_eq!(bad[2].raw, "<13>1 - h5 cut - - - partial");
    assert!(bad.iter().all(|e| e.fields == serde_json::json!({})));
    assert_eq!(srv.search("app_name:after").len(), 1);

    let big = srv.wait_for("truncated:true", 2);
    for e in &big {
        assert!(e.raw.len() <= 1024, "{}", e.raw.len());
        assert!(e.raw.ends_with(palisade_siem::parse::TRUNCATION_MARKER));
        assert_eq!(e.host.as_deref(), Some("h4"));
    }
    let m = srv.metrics();
    assert!(m.contains("palisade_syslog_truncated_total 2\n"), "{m}");
    assert!(
        m.contains("palisade_syslog_framing_errors_total 2\n"),
        "{m}"
    );
    assert!(m.contains("palisade_events_parse_errors_total 3\n"), "{m}");
    assert!(
        m.contains("palisade_syslog_connections_total{transport=\"tcp\"} 1\n"),
        "{m}"
    );

    // Shutdown stores what was received: messages sent just before stopping are there
    // after a restart.
    let mut c = TcpStream::connect(addr).unwrap();
    let burst: String = (0..200)
        .map(|i| format!("<13>1 - h6 burst - - - n{i}\n"))
        .collect();
    c.write_all(burst.as_bytes()).unwrap();
    c.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    srv.shutdown();
    drop(c);
    assert_eq!(srv.search("app_name:burst").len(), 200);
}

/// The value of a metric line (`name{labels}` exactly as rendered).
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in {text}"))
}

#[test]
fn tcp_waits_for_the_store_and_udp_counts_what_it_drops() {
    // A queue of one message: the store is always "behind".
    let mut tcp = listener(SyslogTransport::Tcp, "bp-tcp");
    tcp.queue = 1;
    let mut udp = listener(SyslogTransport::Udp, "bp-udp");
    udp.queue = 1;
    let srv = Srv::start("backpressure", vec![tcp, udp]);

    // TCP: every message is stored; the reader waited instead of dropping.
    let mut c = TcpStream::connect(srv.addr(0)).unwrap();
    let n = 3000;
    let burst: String = (0..n)
        .map(|i| format!("<13>1 - h tcpflood - - - message {i}\n"))
        .collect();
    c.write_all(burst.as_bytes()).unwrap();
    drop(c);
    let got = srv.wait_for("app_name:tcpflood", n);
    assert_eq!(got[n - 1].fields["message"], format!("message {}", n - 1));

    // UDP: what the full queue refused is counted, the rest stored; nothing else is lost
    // between the socket and the store.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..1000 {
        sock.send_to(
            format!("<13>1 - h udpflood - - - datagram {i}").as_bytes(),
            srv.addr(1),
        )
        .unwrap();
    }
    let started = Instant::now();
    let mut last = u64::MAX;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let m = srv.metrics();
        let received = metric(&m, "palisade_syslog_messages_total{transport=\"udp\"}");
        let dropped = metric(&m, "palisade_syslog_dropped_total");
        let stored = srv.search("app_name:udpflood source:bp-udp").len() as u64;
        // Settled: nothing arrived since the last look, everything accounted for.
        let settled = received == last;
        last = received;
        if received > 0 && settled && stored + dropped == received {
            assert_eq!(
                metric(&m, "palisade_events_total{result=\"dropped\"}"),
                dropped
            );
            eprintln!("udp: {received} received, {stored} stored, {dropped} dropped");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "udp: {received} received, {stored} stored, {dropped} dropped"
        );
    }
}

#[test]
fn connection_limits_refuse_extra_connections() {
    let mut l = listener(SyslogTransport::Tcp, "limited");
    l.max_connections_per_ip = 1;
    let srv = Srv::start("limits", vec![l]);
    let addr = srv.addr(0);
    let mut first = TcpStream::connect(addr).unwrap();
    send_all(&mut first, &[b"<13>1 - h ok - - - one\n"]);
    srv.wait_for("app_name:ok", 1);
    let mut second = TcpStream::connect(addr).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 1];
    // Closed by the server at once.
    let n = std::io::Read::read(&mut second, &mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    let m = srv.metrics();
    assert!(
        m.contains("palisade_syslog_connections_refused_total{transport=\"tcp\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("palisade_syslog_open_connections{transport=\"tcp\"} 1\n"),
        "{m}"
    );
}

#[test]
fn tls_client_with_both_framings() {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

    let dir = temp_dir("tls");
    let certs =
        palisade_server::tls::generate(&["localhost".into(), "127.0.0.1".into()], 30, 30).unwrap();
    let (cert, key) = (dir.join("syslog.crt"), dir.join("syslog.key"));
    std::fs::write(&cert, &certs.cert).unwrap();
    std::fs::write(&key, &certs.key).unwrap();
    // Configured the way palisade.toml does it: paths relative to the file.
    let toml = dir.join("palisade.toml");
    std::fs::write(
        &toml,
        "[[server.syslog]]\nlisten = \"tls://127.0.0.1:0\"\nsource = \"tls-in\"\ntls_cert = \"syslog.crt\"\ntls_key = \"syslog.key\"\n",
    )
    .unwrap();
    let file = ConfigFile::load(&toml).unwrap();
    let settings = Settings::resolve(Some((file, toml)), Overrides::default(), None).unwrap();
    assert_eq!(settings.syslog.len(), 1);
    assert_eq!(settings.syslog[0].tls, Some((cert, key)));
    let srv = Srv::start_in(dir, settings.syslog);

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(certs.ca_cert.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(palisade_server::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let tcp = TcpStream::connect(srv.addr(0)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let m = "<86>1 2024-05-01T10:00:00.5Z vault sudo 99 TLS1 [auth@1 user=\"root\"] over tls";
    write!(tls, "{} {m}", m.len()).unwrap();
    tls.write_all(b"<86>May  1 10:00:01 vault sudo[99]: line over tls\n")
        .unwrap();
    tls.flush().unwrap();
    tls.conn.send_close_notify();
    let _ = tls.flush();

    let got = srv.wait_for("source:tls-in", 2);
    assert_eq!(got[0].fields["msgid"], "TLS1");
    assert_eq!(got[0].fields["structured_data"]["auth@1"]["user"], "root");
    assert_eq!(got[0].host.as_deref(), Some("vault"));
    assert_eq!(got[1].fields["message"], "line over tls");
    assert_eq!(got[1].fields["procid"], "99");
    assert!(got.iter().all(|e| e.parse_error.is_none()), "{got:#?}");
    let metrics = srv.metrics();
    assert!(
        metrics.contains("palisade_syslog_messages_total{transport=\"tls\"} 2\n"),
        "{metrics}"
    );
}
