//! Generic JSON: newline-delimited objects, a JSON array of objects, or one object.
//!
//! Normalised where common names exist: time = `time`, `timestamp`, `@timestamp` or `ts`
//! (RFC 3339 or a Unix epoch number in s/ms/µs/ns), else received; host = `host`,
//! `hostname` or `host.name`; user = `user`, `username` or `user.name`; action = `action`,
//! `event.action`; outcome = `outcome`, `event.outcome`; source_ip = `source_ip`, `src_ip`,
//! `client_ip`, `source.ip`.

use super::{Kind, ParseOptions, str_at, time};
use crate::event::Event;
use serde_json::Value;

pub fn parse(text: &str, opts: &ParseOptions) -> Vec<Event> {
    super::parse_json_docs(Kind::Json, text, opts, normalise)
}

fn first(f: &Value, paths: &[&[&str]]) -> Option<String> {
    paths.iter().find_map(|p| str_at(f, p)).map(str::to_owned)
}

fn normalise(e: &mut Event) {
    let f = &e.fields;
    if let Some(t) = ["time", "timestamp", "@timestamp", "ts"]
        .iter()
        .find_map(|k| f.get(k).and_then(time::from_json))
    {
        e.time = t;
    }
    e.host = first(f, &[&["host"], &["hostname"], &["host", "name"]]);
    e.user = first(f, &[&["user"], &["username"], &["user", "name"]]);
    e.action = first(f, &[&["action"], &["event", "action"]]);
    e.outcome = first(f, &[&["outcome"], &["event", "outcome"]]);
    e.source_ip = first(
        f,
        &[
            &["source_ip"],
            &["src_ip"],
            &["client_ip"],
            &["source", "ip"],
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_array_and_times() {
        let o = ParseOptions::new("app", 42);
        let events = parse(
            "{\"ts\":1700000000,\"host\":\"h\",\"msg\":\"a\"}\n{\"@timestamp\":\"2024-01-01T00:00:00.5Z\",\"user\":{\"name\":\"bob\"}}\n{\"x\":1}\n",
            &o,
        );
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].time, 1_700_000_000_000_000_000);
        assert_eq!(events[0].host.as_deref(), Some("h"));
        assert_eq!(events[1].time, 1_704_067_200_500_000_000);
        assert_eq!(events[1].user.as_deref(), Some("bob"));
        assert_eq!(events[2].time, 42);

        let events = parse("[\n {\"a\":1},\n {\"a\":2},\n 3\n]", &o);
        assert_eq!(events.len(), 3);
        assert_eq!(events[1].raw, "{\"a\":2}");
        assert_eq!(
            events[2].parse_error.as_deref(),
            Some("line 4: expected a JSON object, found another JSON value")
        );

        let events = parse("{\n \"a\": 1,\n \"b\": [\n}", &o);
        assert_eq!(events.len(), 1);
        assert!(
            events[0]
                .parse_error
                .as_deref()
                .unwrap()
                .starts_with("invalid JSON at line 4, column 1"),
            "{:?}",
            events[0].parse_error
        );
        assert!(parse("", &o).is_empty());
        assert!(parse("  \n\n", &o).is_empty());
    }
}
