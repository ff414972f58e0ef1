//! The event store suite, run against SQLite (a temporary directory) and, when
//! `PALISADE_TEST_POSTGRES` names a server, PostgreSQL (a database created for each test and
//! dropped after it).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use palisade_siem::event::{Event, Nanos};
use palisade_siem::query::Query;
use palisade_siem::store::{
    self, Cursor, DAY, EventStore, EventStoreError, Order, Retention, Search,
};
use serde_json::json;

const HOUR: Nanos = 3_600_000_000_000;
/// 2026-11-20T00:00:00Z.
const D: Nanos = 20_777 * DAY;

static COUNTER: AtomicU32 = AtomicU32::new(0);

type Body = fn(String) -> Pin<Box<dyn Future<Output = ()> + Send>>;

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{t}", std::process::id())
}

/// Runs `body` with a SQLite location, then with a PostgreSQL one when configured.
async fn on_both(name: &str, body: Body) {
    /// Removes the directory even when the test panics.
    struct TempDir(PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = TempDir(std::env::temp_dir().join(unique(&format!("palisade_siem_{name}"))));
    let path = dir.0.join("events.db");
    body(path.display().to_string()).await;
    drop(dir);

    let Ok(base) = std::env::var("PALISADE_TEST_POSTGRES") else {
        eprintln!("{name}: PostgreSQL skipped (PALISADE_TEST_POSTGRES is not set)");
        return;
    };
    let db = unique("siem_test");
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("connect to PALISADE_TEST_POSTGRES");
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .expect("create the test database");
    let (head, query) = base.split_once('?').unwrap_or((&base, ""));
    let (server, _) = head.rsplit_once('/').expect("a database in the URL");
    let url = if query.is_empty() {
        format!("{server}/{db}")
    } else {
        format!("{server}/{db}?{query}")
    };
    body(url).await;
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .expect("drop the test database");
    drop(client);
    let _ = task.await;
}

macro_rules! both {
    ($name:ident, $body:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            on_both(stringify!($name), |loc| Box::pin($body(loc))).await;
        }
    };
}

fn event(time: Nanos, kind: &str, raw: &str, fields: serde_json::Value) -> Event {
    Event {
        time,
        received: time + 1_000,
        source: kind.replace('_', "-"),
        kind: kind.into(),
        host: None,
        user: None,
        action: None,
        object: None,
        outcome: None,
        source_ip: None,
        raw: raw.into(),
        fields,
        parse_error: None,
        truncated: false,
        fields_from_raw: false,
    }
}

/// Four events over three days:
/// - a: day 0, 01:00, alice creates pods/web (k8s audit).
/// - b: day 0, 02:00, bob fails to delete secrets/db.
/// - c: day 1, 01:00, syslog sshd failed password on web-1.
/// - d: day 2, 00:00:00.5, JSON with awkward values and an injection string as user.
fn sample() -> Vec<Event> {
    let fa = json!({
        "verb": "create",
        "objectRef": {"resource": "pods", "namespace": "prod", "name": "web"},
        "user": {"username": "alice", "groups": ["system:authenticated", "devs"]},
        "responseStatus": {"code": 201},
        "annotations": [{"k": "a"}, {"k": "b"}],
        "authorization.k8s.io/decision": "allow"
    });
    let mut a = event(D + HOUR, "k8s_audit", &fa.to_string(), fa);
    a.user = Some("alice".into());
    a.action = Some("create".into());
    a.object = Some("pods/web".into());
    a.outcome = Some("success".into());
    a.source_ip = Some("10.0.0.1".into());

    let fb = json!({
        "verb": "delete",
        "objectRef": {"resource": "secrets", "namespace": "kube-system", "name": "db"},
        "user": {"username": "bob", "groups": ["system:masters"]},
        "responseStatus": {"code": 403},
        "annotations": []
    });
    let mut b = event(D + 2 * HOUR, "k8s_audit", &fb.to_string(), fb);
    b.user = Some("bob".into());
    b.action = Some("delete".into());
    b.object = Some("secrets/db".into());
    b.outcome = Some("failure".into());
    b.source_ip = Some("10.0.0.2".into());

    let raw =
        "<34>Nov 21 01:00:00 web-1 sshd[42]: Failed password for root from 203.0.113.9 port 22";
    let mut c = event(
        D + DAY + HOUR,
        "syslog",
        raw,
        json!({"appname": "sshd", "procid": "42", "msg": "Failed password for root"}),
    );
    c.host = Some("web-1".into());
    c.action = Some("login".into());
    c.outcome = Some("failure".into());
    c.source_ip = Some("203.0.113.9".into());

    let fd = json!({
        "note": "50% off_sale",
        "quote": "it's \"quoted\"",
        "flag": true,
        "ratio": 1.5,
        "nested": {"deep": {"x": null, "y": "Grüße"}},
        "matrix": [{"row": [{"v": "hit"}]}]
    });
    let mut d = event(D + 2 * DAY + 500_000_000, "json", &fd.to_string(), fd);
    d.user = Some("'; DROP TABLE events_20261120; --".into());
    d.truncated = true;
    d.parse_error = Some("field \"x\" was odd".into());
    vec![a, b, c, d]
}

async fn loaded(loc: &str) -> EventStore {
    let s = store::open(loc).await.expect("open");
    let r = s.append(&sample()).await.expect("append");
    assert_eq!(r.accepted, 4);
    assert!(r.rejected.is_empty());
    s
}

fn field(path: &str, value: &str) -> Query {
    Query::Field {
        path: path.into(),
        value: value.into(),
    }
}

fn exists(path: &str) -> Query {
    Query::Exists { path: path.into() }
}

fn text(t: &str) -> Query {
    Query::Text(t.into())
}

/// The sample letters (a–d) matching `q` over all time, oldest first, checked against
/// `Query::matches`.
async fn letters(s: &EventStore, q: &Query) -> String {
    let out = stored(s, q).await;
    let reference: String = sample()
        .iter()
        .enumerate()
        .filter(|(_, e)| q.matches(e))
        .map(|(i, _)| (b'a' + i as u8) as char)
        .collect();
    assert_eq!(out, reference, "store and Query::matches differ for {q:?}");
    out
}

/// The sample letters (a–d) matching `q` that the store holds, oldest first.
async fn stored(s: &EventStore, q: &Query) -> String {
    let mut search = Search::new(q, D - DAY, D + 10 * DAY);
    search.order = Order::Asc;
    let r = s.search(&search).await.expect("search");
    assert!(r.total_exact);
    assert_eq!(r.total as usize, r.events.len(), "total for {q:?}");
    let sample = sample();
    let out: String = r
        .events
        .iter()
        .map(|h| {
            let i = sample
                .iter()
                .position(|e| *e == h.event)
                .expect("a stored event reads back as appended");
            (b'a' + i as u8) as char
        })
        .collect();
    out
}

async fn field_filters(loc: String) {
    let s = loaded(&loc).await;
    assert_eq!(letters(&s, &Query::All).await, "abcd");
    assert_eq!(letters(&s, &field("user", "alice")).await, "a");
    assert_eq!(letters(&s, &field("user", "ALICE")).await, "a");
    assert_eq!(letters(&s, &field("outcome", "failure")).await, "bc");
    assert_eq!(letters(&s, &field("host", "web-1")).await, "c");
    assert_eq!(letters(&s, &field("kind", "k8s_audit")).await, "ab");
    assert_eq!(letters(&s, &field("source", "k8s-audit")).await, "ab");
    assert_eq!(letters(&s, &field("source_ip", "10.0.0.*")).await, "ab");
    assert_eq!(letters(&s, &field("truncated", "true")).await, "d");
    assert_eq!(letters(&s, &field("truncated", "false")).await, "abc");
    assert_eq!(letters(&s, &field("parse_error", "*\"x\"*")).await, "d");
    assert_eq!(letters(&s, &field("time", "2026-11-21T*")).await, "c");
    assert_eq!(
        letters(&s, &field("time", "2026-11-22T00:00:00.500000000Z")).await,
        "d"
    );
    assert_eq!(
        letters(&s, &field("received", "2026-11-20T01:*")).await,
        "a"
    );
    assert_eq!(letters(&s, &field("user", "nobody")).await, "");
    // Exact values on the indexed columns: equality, still case-insensitive and literal.
    assert_eq!(letters(&s, &field("host", "WEB-1")).await, "c");
    assert_eq!(letters(&s, &field("user", "%")).await, "");
    assert_eq!(letters(&s, &field("user", "_lice")).await, "");
    assert_eq!(letters(&s, &field("source_ip", "203.0.113.9")).await, "c");
    assert_eq!(letters(&s, &field("user", "ÄLICE")).await, "");
}

async fn json_paths(loc: String) {
    let s = loaded(&loc).await;
    assert_eq!(letters(&s, &field("verb", "create")).await, "a");
    assert_eq!(letters(&s, &field("objectRef.resource", "pods")).await, "a");
    assert_eq!(
        letters(&s, &field("fields.objectRef.resource", "SECRETS")).await,
        "b"
    );
    assert_eq!(letters(&s, &field("user.username", "bob")).await, "b");
    assert_eq!(letters(&s, &field("responseStatus.code", "403")).await, "b");
    assert_eq!(letters(&s, &field("ratio", "1.5")).await, "d");
    assert_eq!(letters(&s, &field("flag", "true")).await, "d");
    assert_eq!(letters(&s, &field("flag", "TRUE")).await, "d");
    // Arrays are searched through, at the end and along the path.
    assert_eq!(letters(&s, &field("user.groups", "devs")).await, "a");
    assert_eq!(letters(&s, &field("annotations.k", "b")).await, "a");
    assert_eq!(letters(&s, &field("matrix.row.v", "hit")).await, "d");
    // A key with dots in it.
    assert_eq!(
        letters(&s, &field("authorization.k8s.io/decision", "allow")).await,
        "a"
    );
    // Null, objects and missing never match.
    assert_eq!(letters(&s, &field("nested.deep.x", "*")).await, "");
    assert_eq!(letters(&s, &field("objectRef", "*")).await, "");
    assert_eq!(letters(&s, &field("no.such.path", "x")).await, "");
    // Unicode case folding.
    assert_eq!(letters(&s, &field("nested.deep.y", "GRÜSSE")).await, "");
    assert_eq!(letters(&s, &field("nested.deep.y", "GRÜßE")).await, "d");
    // Exists.
    assert_eq!(letters(&s, &exists("responseStatus.code")).await, "ab");
    assert_eq!(letters(&s, &exists("nested.deep.x")).await, "");
    assert_eq!(letters(&s, &exists("nested.deep")).await, "d");
    assert_eq!(letters(&s, &exists("annotations.k")).await, "a");
    assert_eq!(letters(&s, &exists("host")).await, "c");
    assert_eq!(letters(&s, &exists("time")).await, "abcd");
}

async fn wildcards_and_logic(loc: String) {
    let s = loaded(&loc).await;
    assert_eq!(
        letters(&s, &field("objectRef.namespace", "kube-*")).await,
        "b"
    );
    assert_eq!(letters(&s, &field("object", "*/db")).await, "b");
    assert_eq!(letters(&s, &field("user.groups", "system:*")).await, "ab");
    assert_eq!(letters(&s, &field("user.groups", "*auth*")).await, "a");
    assert_eq!(letters(&s, &field("verb", "*")).await, "ab");
    assert_eq!(letters(&s, &field("verb", "c*e")).await, "a");
    assert_eq!(letters(&s, &field("verb", "c*x")).await, "");
    // The JSON text pre-test quotes values only a string can match, open where `*` is.
    assert_eq!(letters(&s, &field("verb", "delet")).await, "");
    assert_eq!(letters(&s, &field("user.username", "ALICE")).await, "a");
    assert_eq!(letters(&s, &field("procid", "42")).await, "c");
    assert_eq!(letters(&s, &field("procid", "4*")).await, "c");
    assert_eq!(
        letters(&s, &field("objectRef.namespace", "*system")).await,
        "b"
    );
    assert_eq!(letters(&s, &field("note", "50%*")).await, "d");
    assert_eq!(letters(&s, &field("quote", "*quoted*")).await, "d");
    assert_eq!(letters(&s, &field("quote", "it's*")).await, "d");
    let not_alice = Query::Not(Box::new(field("user", "alice")));
    assert_eq!(letters(&s, &not_alice).await, "bcd");
    let not_code = Query::Not(Box::new(field("responseStatus.code", "201")));
    assert_eq!(letters(&s, &not_code).await, "bcd");
    let or = Query::Or(vec![field("verb", "create"), field("host", "web-1")]);
    assert_eq!(letters(&s, &or).await, "ac");
    let and = Query::And(vec![field("outcome", "failure"), text("password")]);
    assert_eq!(letters(&s, &and).await, "c");
    assert_eq!(letters(&s, &Query::And(vec![])).await, "abcd");
    assert_eq!(letters(&s, &Query::Or(vec![])).await, "");
    let nested = Query::Not(Box::new(Query::Or(vec![
        field("kind", "syslog"),
        Query::And(vec![field("verb", "delete"), exists("annotations")]),
    ])));
    // b's `annotations` is an empty array: not there (no element), as in `Query::matches`.
    assert_eq!(letters(&s, &nested).await, "abd");
}

async fn full_text(loc: String) {
    let s = loaded(&loc).await;
    assert_eq!(letters(&s, &text("failed PASSWORD")).await, "c");
    assert_eq!(letters(&s, &text("sshd*203.0")).await, "c");
    assert_eq!(letters(&s, &text("%")).await, "d");
    assert_eq!(letters(&s, &text("_sale")).await, "d");
    assert_eq!(letters(&s, &text("x_sale")).await, "");
    assert_eq!(letters(&s, &text("\\\"quoted")).await, "d");
    assert_eq!(letters(&s, &text("kube-system")).await, "b");
    assert_eq!(letters(&s, &text("grüße")).await, "d");
    assert_eq!(letters(&s, &text("nothing like this")).await, "");
}

async fn injection(loc: String) {
    let s = loaded(&loc).await;
    let evil = "'; DROP TABLE events_20261120; --";
    assert_eq!(letters(&s, &field("user", evil)).await, "d");
    assert_eq!(letters(&s, &text(evil)).await, "");
    assert_eq!(letters(&s, &field(evil, evil)).await, "");
    assert_eq!(letters(&s, &exists(evil)).await, "");
    assert_eq!(letters(&s, &field("we\"ird", "x")).await, "");
    assert_eq!(letters(&s, &field("a'b", "x")).await, "");
    assert_eq!(letters(&s, &field("$.verb", "create")).await, "");
    assert_eq!(letters(&s, &field("verb[0]", "create")).await, "");
    assert_eq!(letters(&s, &field("note", "50%*")).await, "d");
    assert_eq!(letters(&s, &field("note", "50% off_sale")).await, "d");
    assert_eq!(letters(&s, &field("note", "50_ off*")).await, "");
    assert_eq!(letters(&s, &field("note", "%")).await, "");
    assert_eq!(letters(&s, &field("verb", "_reate")).await, "");
    assert_eq!(letters(&s, &field("quote", "it's \"quoted\"")).await, "d");
    assert_eq!(letters(&s, &field("quote", "it\\'s*")).await, "");
    // Everything is still there.
    assert_eq!(letters(&s, &Query::All).await, "abcd");
    assert_eq!(s.partitions().await.expect("partitions").len(), 3);
}

async fn time_ranges_order_paging(loc: String) {
    let s = loaded(&loc).await;
    let all = Query::All;
    let times = |r: &store::SearchResult| r.events.iter().map(|h| h.event.time).collect::<Vec<_>>();
    // Newest first by default, across the three day partitions.
    let r = s.search(&Search::new(&all, D, D + 3 * DAY)).await.unwrap();
    assert_eq!(
        times(&r),
        [
            D + 2 * DAY + 500_000_000,
            D + DAY + HOUR,
            D + 2 * HOUR,
            D + HOUR
        ]
    );
    assert!(r.next.is_none());
    // [from, to): from inclusive, to exclusive, cutting inside partitions.
    let mut q = Search::new(&all, D + 2 * HOUR, D + DAY + HOUR);
    q.order = Order::Asc;
    assert_eq!(times(&s.search(&q).await.unwrap()), [D + 2 * HOUR]);
    let mut q = Search::new(&all, D + HOUR + 1, D + DAY + HOUR + 1);
    q.order = Order::Asc;
    let r = s.search(&q).await.unwrap();
    assert_eq!(times(&r), [D + 2 * HOUR, D + DAY + HOUR]);
    assert_eq!((r.total, r.total_exact), (2, true));
    // Nothing outside any partition.
    let r = s
        .search(&Search::new(&all, D + 5 * DAY, D + 6 * DAY))
        .await
        .unwrap();
    assert!(r.events.is_empty());
    assert_eq!(r.total, 0);
    // Cursor paging, both orders.
    for order in [Order::Desc, Order::Asc] {
        let mut seen = Vec::new();
        let mut cursor: Option<Cursor> = None;
        for _ in 0..10 {
            let mut q = Search::new(&all, D, D + 3 * DAY);
            q.limit = 1;
            q.order = order;
            q.cursor = cursor;
            let r = s.search(&q).await.unwrap();
            assert_eq!(r.total, 4);
            seen.extend(times(&r));
            match r.next {
                Some(c) => {
                    // The cursor survives a URL.
                    cursor = Some(c.to_string().parse().unwrap());
                }
                None => break,
            }
        }
        let mut expect = vec![
            D + HOUR,
            D + 2 * HOUR,
            D + DAY + HOUR,
            D + 2 * DAY + 500_000_000,
        ];
        if order == Order::Desc {
            expect.reverse();
        }
        assert_eq!(seen, expect, "{order:?}");
    }
    // Offset paging.
    let mut q = Search::new(&all, D, D + 3 * DAY);
    q.limit = 2;
    q.offset = 1;
    let r = s.search(&q).await.unwrap();
    assert_eq!(times(&r), [D + DAY + HOUR, D + 2 * HOUR]);
    assert!(r.next.is_some());
    q.offset = 3;
    let r = s.search(&q).await.unwrap();
    assert_eq!(times(&r), [D + HOUR]);
    assert!(r.next.is_none());
    assert_eq!((r.total, r.total_exact), (4, true));
    q.offset = 10;
    let r = s.search(&q).await.unwrap();
    assert!(r.events.is_empty());
    assert_eq!((r.total, r.total_exact), (4, true));
    // Same time, several events: insertion order breaks ties and paging does not lose any.
    let same: Vec<Event> = (0..5)
        .map(|i| event(D + 3 * DAY, "json", &format!("same {i}"), json!({"i": i})))
        .collect();
    s.append(&same).await.unwrap();
    let mut got = Vec::new();
    let mut cursor = None;
    loop {
        let mut q = Search::new(&all, D + 3 * DAY, D + 4 * DAY);
        q.limit = 2;
        q.order = Order::Asc;
        q.cursor = cursor;
        let r = s.search(&q).await.unwrap();
        got.extend(r.events.iter().map(|h| h.event.raw.clone()));
        match r.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(got, ["same 0", "same 1", "same 2", "same 3", "same 4"]);
    // Without a count.
    let mut q = Search::new(&all, D, D + 4 * DAY);
    q.count = false;
    let r = s.search(&q).await.unwrap();
    assert_eq!((r.events.len(), r.total, r.total_exact), (9, 0, false));
}

async fn invalid_requests(loc: String) {
    let s = loaded(&loc).await;
    let all = Query::All;
    fn bad<T>(r: Result<T, EventStoreError>) -> bool {
        matches!(r, Err(EventStoreError::Invalid(_)))
    }
    assert!(bad(s.search(&Search::new(&all, D, D)).await));
    let mut q = Search::new(&all, D, D + DAY);
    q.limit = 0;
    assert!(bad(s.search(&q).await));
    q.limit = store::MAX_LIMIT + 1;
    assert!(bad(s.search(&q).await));
    q.limit = 10;
    q.offset = store::MAX_OFFSET + 1;
    assert!(bad(s.search(&q).await));
    assert!(bad(s.histogram(&all, D, D + DAY, 0).await));
    assert!(bad(s.histogram(&all, D + DAY, D, 10).await));
    assert!("12".parse::<Cursor>().is_err());
    // Extreme ranges work.
    let r = s
        .search(&Search::new(&all, i64::MIN, i64::MAX))
        .await
        .unwrap();
    assert_eq!(r.total, 4);
    let h = s.histogram(&all, i64::MIN, i64::MAX, 2).await.unwrap();
    assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 4);
    // A very deep query is refused, not overflowed.
    let mut deep = Query::All;
    for _ in 0..10_000 {
        deep = Query::Not(Box::new(deep));
    }
    assert!(bad(s.search(&Search::new(&deep, D, D + DAY)).await));
    // Rejected events are listed; the others are stored.
    let mut nul = event(D, "json", "a\0b", json!({}));
    let ok = event(D, "json", "fine", json!({"k": "v"}));
    let mut nul_json = event(D, "json", "x", json!({"k": "a\u{0}b"}));
    nul.user = Some("u".into());
    nul_json.host = Some("h".into());
    let r = s.append(&[nul, ok, nul_json]).await.unwrap();
    assert_eq!(r.accepted, 1);
    assert_eq!(
        r.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
        [0, 2]
    );
    let c = s.counters();
    assert_eq!((c.accepted, c.rejected, c.dropped), (5, 2, 0));
    s.record_dropped(3);
    assert_eq!(s.counters().dropped, 3);
    assert_eq!(s.append(&[]).await.unwrap().accepted, 0);
}

async fn histogram(loc: String) {
    let s = loaded(&loc).await;
    let counts = |h: Vec<store::Bucket>| h.iter().map(|b| b.count).collect::<Vec<_>>();
    let h = s.histogram(&Query::All, D, D + 3 * DAY, 3).await.unwrap();
    assert_eq!(
        h.iter().map(|b| b.start).collect::<Vec<_>>(),
        [D, D + DAY, D + 2 * DAY]
    );
    assert_eq!(counts(h), [2, 1, 1]);
    let h = s
        .histogram(&field("user", "alice"), D, D + 3 * DAY, 3)
        .await
        .unwrap();
    assert_eq!(counts(h), [1, 0, 0]);
    // Hourly over day 0: events at 01:00 and 02:00.
    let h = s.histogram(&Query::All, D, D + DAY, 24).await.unwrap();
    let c = counts(h);
    assert_eq!(c.len(), 24);
    assert_eq!((c[1], c[2], c.iter().sum::<u64>()), (1, 1, 2));
    // A range not divisible by the buckets: the last is shorter, none is lost.
    let h = s.histogram(&Query::All, D, D + 3 * DAY, 7).await.unwrap();
    assert_eq!(h.len(), 7);
    assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 4);
}

async fn retention(loc: String) {
    let s = loaded(&loc).await;
    // now = day 2 01:00; keep 1 day 30 minutes: the cut-off is day 1 00:30. Day 0 goes
    // whole; day 1 is trimmed (its 00:10 event goes, its 01:00 one stays).
    s.append(&[event(D + DAY + HOUR / 6, "json", "early", json!({}))])
        .await
        .unwrap();
    let now = D + 2 * DAY + HOUR;
    let r = s
        .retain(
            Retention {
                max_age: Some(Duration::from_secs(86_400 + 1_800)),
                max_bytes: None,
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!((r.partitions_dropped, r.events_deleted), (1, 3));
    assert_eq!(stored(&s, &Query::All).await, "cd");
    let parts = s.partitions().await.unwrap();
    assert_eq!(
        parts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["events_20261121", "events_20261122"]
    );
    assert_eq!(parts[0].events, 1);
    // Appending to a dropped day recreates it.
    s.append(&[event(D + 5, "json", "late", json!({}))])
        .await
        .unwrap();
    let r = s
        .search(&Search::new(&Query::All, D, D + DAY))
        .await
        .unwrap();
    assert_eq!(r.total, 1);
    // Size: keep at most 1 byte: all but the newest day go.
    let r = s
        .retain(
            Retention {
                max_age: None,
                max_bytes: Some(1),
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!((r.partitions_dropped, r.events_deleted), (2, 2));
    assert_eq!(stored(&s, &Query::All).await, "d");
    // Nothing to do.
    let r = s.retain(Retention::default(), now).await.unwrap();
    assert_eq!((r.partitions_dropped, r.events_deleted), (0, 0));
}

async fn durability(loc: String) {
    {
        let s = store::open(&loc).await.unwrap();
        for i in 0..20 {
            let batch: Vec<Event> = (0..50)
                .map(|j| {
                    event(
                        D + (i * 50 + j) * HOUR / 10,
                        "json",
                        &format!("{i}/{j}"),
                        json!({"i": i, "j": j}),
                    )
                })
                .collect();
            assert_eq!(s.append(&batch).await.unwrap().accepted, 50);
        }
    }
    // Reopen (running the migrations again is a no-op): every acknowledged event is there.
    let s = store::open(&loc).await.unwrap();
    let r = s
        .search(&Search::new(&Query::All, D, D + 10 * DAY))
        .await
        .unwrap();
    assert_eq!((r.total, r.total_exact), (1000, true));
    let n: u64 = s.partitions().await.unwrap().iter().map(|p| p.events).sum();
    assert_eq!(n, 1000);
    let r = s
        .search(&Search::new(&field("j", "49"), D, D + 10 * DAY))
        .await
        .unwrap();
    assert_eq!(r.total, 20);
    s.ping().await.unwrap();
}

async fn ids_find_events(loc: String) {
    let s = store::open(&loc).await.unwrap();
    let mut batch = vec![
        event(D + HOUR, "json", "first", json!({"n": 1})),
        event(D + HOUR, "json", "a\0b", json!({})),
        event(D + DAY + HOUR, "json", "next day", json!({"n": 2})),
        event(D + 2 * HOUR, "json", "last", json!({"n": 3})),
    ];
    // From the future: stored at its receive time, and its id says so.
    batch[3].time = batch[3].received + 400 * DAY;
    let r = s.append(&batch).await.unwrap();
    assert_eq!(r.accepted, 3);
    assert_eq!(r.ids.len(), 4);
    assert!(r.ids[1].is_none(), "the refused event has no id");
    for (i, raw) in [(0, "first"), (2, "next day"), (3, "last")] {
        let id = r.ids[i].unwrap();
        let hit = s.get(id).await.unwrap().expect("found by its id");
        assert_eq!(hit.event.raw, raw);
        assert_eq!((hit.event.time, hit.seq), (id.time, id.seq));
    }
    assert_eq!(r.ids[3].unwrap().time, batch[3].received);
    // The kept events as stored, each with its id.
    let kept: Vec<(Event, Cursor)> = r.stored(&batch).collect();
    assert_eq!(kept.len(), 3);
    assert_eq!(kept[2].0.raw, "last");
    assert_eq!(kept[2].0.time, batch[3].received);
    assert_eq!(kept[2].1, r.ids[3].unwrap());
    // The ids are the ones searches give.
    let found = s
        .search(&Search::new(&Query::All, D, D + 10 * DAY))
        .await
        .unwrap();
    let mut searched: Vec<Cursor> = found
        .events
        .iter()
        .map(|h| Cursor {
            time: h.event.time,
            seq: h.seq,
        })
        .collect();
    let mut given: Vec<Cursor> = r.ids.iter().flatten().copied().collect();
    searched.sort_by_key(|c| (c.time, c.seq));
    given.sort_by_key(|c| (c.time, c.seq));
    assert_eq!(searched, given);
    // An id with another time, an unknown one, a day with no table: nothing.
    let id = r.ids[0].unwrap();
    for other in [
        Cursor {
            time: id.time + 1,
            seq: id.seq,
        },
        Cursor {
            time: id.time,
            seq: id.seq + 1_000_000,
        },
        Cursor {
            time: D - 30 * DAY,
            seq: id.seq,
        },
    ] {
        assert!(s.get(other).await.unwrap().is_none(), "{other}");
    }
    // A batch larger than one PostgreSQL insert statement (5,000 rows), over two days: every
    // id names its own event.
    let big: Vec<Event> = (0..6_000)
        .map(|i| {
            event(
                D + 3 * DAY + i * 20_000_000_000,
                "json",
                &format!("big {i}"),
                json!({"i": i}),
            )
        })
        .collect();
    let r = s.append(&big).await.unwrap();
    assert_eq!(r.ids.len(), 6_000);
    for i in [0, 4_999, 5_000, 5_999] {
        let hit = s.get(r.ids[i].unwrap()).await.unwrap().unwrap();
        assert_eq!(hit.event.raw, format!("big {i}"));
    }
}

async fn concurrent_appends(loc: String) {
    let s = store::open(&loc).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..8i64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for b in 0..25i64 {
                let batch: Vec<Event> = (0..40i64)
                    .map(|i| {
                        event(
                            D + (t * 1000 + b * 40 + i) * 1_000_000_000 * 60,
                            "json",
                            &format!("t{t} b{b} i{i}"),
                            json!({"t": t}),
                        )
                    })
                    .collect();
                s.append(&batch).await.unwrap();
            }
        }));
    }
    // Searches run next to the appends.
    for _ in 0..5 {
        s.search(&Search::new(&field("t", "3"), D, D + 30 * DAY))
            .await
            .unwrap();
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = s
        .search(&Search::new(&Query::All, D, D + 30 * DAY))
        .await
        .unwrap();
    assert_eq!((r.total, r.total_exact), (8000, true));
    let r = s
        .search(&Search::new(&field("t", "3"), D, D + 30 * DAY))
        .await
        .unwrap();
    assert_eq!(r.total, 1000);
    assert_eq!(s.counters().accepted, 8000);
}

async fn capped_count(loc: String) {
    let s = store::open(&loc).await.unwrap();
    let n = store::COUNT_CAP as i64 + 10;
    let batch: Vec<Event> = (0..n)
        .map(|i| event(D + i * 1_000_000, "syslog", "x", json!({})))
        .collect();
    for chunk in batch.chunks(20_000) {
        s.append(chunk).await.unwrap();
    }
    let r = s
        .search(&Search::new(&Query::All, D, D + 10 * DAY))
        .await
        .unwrap();
    assert_eq!((r.total, r.total_exact), (store::COUNT_CAP, false));
    assert_eq!(r.events.len(), 100);
}

/// `user`, `host` and `source_ip` lookups over several blocks of rows (SQLite keeps a filter
/// per 1,024 rows of a day in place of B-tree indexes): every search gives what
/// `Query::matches` gives over the same events, including after a reopen adds rows to a block
/// whose filter is already on disk.
async fn lookups(loc: String) {
    let mk = |i: i64| {
        let mut e = event(
            D + i * 1_000_000_000,
            "syslog",
            &format!("line {i}"),
            json!({"i": i}),
        );
        e.user = Some(format!("user{}", i % 50));
        e.host = Some(format!("h{}", i % 7));
        e.source_ip = Some(format!("10.0.{}.{}", i / 256, i % 256));
        if i == 15_000 {
            e.user = Some("Mallory".into());
            e.source_ip = Some("203.0.113.9".into());
        }
        e
    };
    let mut all: Vec<Event> = (0..20_000).map(mk).collect();
    {
        let s = store::open(&loc).await.unwrap();
        for chunk in all.chunks(3_000) {
            assert_eq!(s.append(chunk).await.unwrap().accepted, chunk.len() as u64);
        }
    }
    // Reopened: more rows go into the last, partly filled block.
    let s = store::open(&loc).await.unwrap();
    let more: Vec<Event> = (20_000..20_100)
        .map(|i| {
            let mut e = mk(i);
            if i == 20_099 {
                e.user = Some("Trudy".into());
            }
            e
        })
        .collect();
    s.append(&more).await.unwrap();
    all.extend(more);
    let (from, to) = (D, D + DAY);
    for q in [
        "user:mallory",
        "user:MALLORY",
        "source_ip:203.0.113.9",
        "user:trudy",
        // Rows written before the reopen, in the block the reopened store added to.
        "source_ip:10.0.78.31",
        "user:user19 host:h3",
        "user:user7 source_ip:10.0.0.7",
        "user:mallory OR host:h3",
        "user:mallory OR user:trudy",
        "user:nobody",
        "user:nobody OR source_ip:10.0.1.1",
        "user:user3",
        "host:h2 NOT user:user2",
        "user:user1*",
        "source_ip:10.0.7*",
    ] {
        let query = palisade_siem::query::parse(q).unwrap();
        let want: Vec<Nanos> = all
            .iter()
            .rev()
            .filter(|e| query.matches(e))
            .map(|e| e.time)
            .collect();
        let r = s.search(&Search::new(&query, from, to)).await.unwrap();
        let expect_total = (want.len() as u64).min(store::COUNT_CAP);
        assert_eq!(r.total, expect_total, "{q}: count");
        let got: Vec<Nanos> = r.events.iter().map(|h| h.event.time).collect();
        assert_eq!(
            got,
            want[..want.len().min(100)],
            "{q}: first page, newest first"
        );
        // Oldest first, and the next page through the cursor.
        let mut asc = Search::new(&query, from, to);
        asc.order = Order::Asc;
        asc.limit = 7;
        asc.count = false;
        let p1 = s.search(&asc).await.unwrap();
        let mut oldest: Vec<Nanos> = want.iter().rev().copied().collect();
        oldest.truncate(14);
        let mut got: Vec<Nanos> = p1.events.iter().map(|h| h.event.time).collect();
        if let Some(c) = p1.next {
            asc.cursor = Some(c);
            let p2 = s.search(&asc).await.unwrap();
            got.extend(p2.events.iter().map(|h| h.event.time));
        }
        assert_eq!(got, oldest, "{q}: two pages, oldest first");
        let h = s.histogram(&query, from, to, 24).await.unwrap();
        assert_eq!(
            h.iter().map(|b| b.count).sum::<u64>(),
            want.len() as u64,
            "{q}: histogram"
        );
    }
}

/// Two stores on one location (as `palisade ingest` next to a running server): rows each
/// adds to the same block are all found by `user:`, whichever wrote last.
async fn two_writers(loc: String) {
    let a = store::open(&loc).await.unwrap();
    let b = store::open(&loc).await.unwrap();
    let batch = |from: i64, user: &str| -> Vec<Event> {
        (from..from + 10)
            .map(|i| {
                let mut e = event(
                    D + i * 1_000_000_000,
                    "syslog",
                    &format!("line {i}"),
                    json!({}),
                );
                e.user = Some(user.into());
                e
            })
            .collect()
    };
    a.append(&batch(0, "alice")).await.unwrap();
    b.append(&batch(10, "bob")).await.unwrap();
    a.append(&batch(20, "carol")).await.unwrap();
    b.append(&batch(30, "dave")).await.unwrap();
    for s in [&a, &b] {
        for user in ["alice", "bob", "carol", "dave"] {
            let q = field("user", user);
            let r = s.search(&Search::new(&q, D, D + DAY)).await.unwrap();
            assert_eq!((r.total, r.total_exact), (10, true), "user:{user}");
        }
    }
}

/// The child side of `store_survives_kill_9`: appends batches of 100 and prints how many are
/// acknowledged after each, until killed. Does nothing unless the parent started it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_child() {
    let Ok(loc) = std::env::var("PALISADE_SIEM_KILL_CHILD") else {
        return;
    };
    use std::io::Write;
    let s = store::open(&loc).await.unwrap();
    for i in 0..2_000i64 {
        let batch: Vec<Event> = (0..100i64)
            .map(|j| event(D + i * 100 + j, "json", "k", json!({"i": i})))
            .collect();
        s.append(&batch).await.unwrap();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "acked {}", (i + 1) * 100);
        let _ = out.flush();
    }
}

/// Acknowledged events survive SIGKILL of the process that appended them.
async fn survives_kill_9(loc: String) {
    use std::io::BufRead;
    // Create the schema first, so the child only appends.
    drop(store::open(&loc).await.unwrap());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_9_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("PALISADE_SIEM_KILL_CHILD", &loc)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the child");
    let stdout = child.stdout.take().unwrap();
    let acked = tokio::task::spawn_blocking(move || {
        let mut acked = 0u64;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("acked ") {
                acked = n.trim().parse().unwrap();
                if acked >= 3_000 {
                    break;
                }
            }
        }
        acked
    })
    .await
    .unwrap();
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    assert!(acked >= 3_000, "the child acknowledged only {acked} events");
    let s = store::open(&loc).await.unwrap();
    let mut q = Search::new(&Query::All, D, D + DAY);
    q.count = false;
    q.limit = 1;
    q.order = Order::Desc;
    let r = s.search(&q).await.unwrap();
    // The newest event stored is at least the last one acknowledged.
    let newest = r.events.first().map(|h| h.event.time).unwrap_or(0);
    assert!(
        newest >= D + acked as i64 - 1,
        "acknowledged {acked} events, the newest stored is #{}",
        newest - D + 1
    );
}

both!(store_survives_kill_9, survives_kill_9);
both!(store_field_filters, field_filters);
both!(store_json_paths, json_paths);
both!(store_wildcards_and_logic, wildcards_and_logic);
both!(store_full_text, full_text);
both!(store_injection, injection);
both!(store_time_ranges_order_paging, time_ranges_order_paging);
both!(store_invalid_requests, invalid_requests);
both!(store_histogram, histogram);
both!(store_retention, retention);
both!(store_durability, durability);
both!(store_concurrent_appends, concurrent_appends);
both!(store_ids_find_events, ids_find_events);
both!(store_capped_count, capped_count);
both!(store_lookups, lookups);
both!(store_two_writers, two_writers);

#[tokio::test]
async fn bad_locations() {
    assert!(matches!(
        store::open("/tmp/x.db?synchronous=sometimes").await,
        Err(EventStoreError::Invalid(_))
    ));
    assert!(matches!(
        store::open("postgres://u@127.0.0.1:1/db?sslmode=bogus").await,
        Err(EventStoreError::Invalid(_))
    ));
    let dir = std::env::temp_dir().join(unique("palisade_siem_full"));
    let s = store::open(&format!("{}?synchronous=full", dir.join("e.db").display()))
        .await
        .unwrap();
    assert_eq!(s.backend(), "sqlite");
    s.append(&sample()).await.unwrap();
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
