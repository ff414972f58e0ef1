//! Falco's JSON output (`json_output: true`), one alert a line: `time`, `rule`, `priority`,
//! `output`, `output_fields`, `hostname`, `source`, `tags`.
//!
//! Normalised: time = `time`; host = `hostname`; action = `rule`; outcome = `priority` (Falco's
//! own word); user = `output_fields["user.name"]`; object = the pod
//! (`k8s.ns.name/k8s.pod.name`), else `container.name`, else `proc.name`; source_ip =
//! `output_fields["fd.cip"]`.

use super::{Kind, ParseOptions, time};
use crate::event::Event;
use serde_json::Value;

pub fn parse(text: &str, opts: &ParseOptions) -> Vec<Event> {
    super::parse_json_docs(Kind::Falco, text, opts, normalise)
}

fn output_field<'a>(f: &'a Value, key: &str) -> Option<&'a str> {
    f.get("output_fields")?
        .get(key)?
        .as_str()
        .filter(|s| !s.is_empty() && *s != "<NA>")
}

fn normalise(e: &mut Event) {
    let f = &e.fields;
    if let Some(t) = f.get("time").and_then(time::from_json) {
        e.time = t;
    }
    e.host = super::str_at(f, &["hostname"]).map(str::to_owned);
    e.action = super::str_at(f, &["rule"]).map(str::to_owned);
    e.outcome = super::str_at(f, &["priority"]).map(str::to_owned);
    e.user = output_field(f, "user.name").map(str::to_owned);
    e.object = match (
        output_field(f, "k8s.ns.name"),
        output_field(f, "k8s.pod.name"),
    ) {
        (Some(ns), Some(pod)) => Some(format!("{ns}/{pod}")),
        _ => output_field(f, "container.name")
            .or_else(|| output_field(f, "proc.name"))
            .map(str::to_owned),
    };
    e.source_ip = output_field(f, "fd.cip").map(str::to_owned);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_lines() {
        let text = concat!(
            r#"{"hostname":"node-1","output":"12:00:00.000000000: Notice A shell was spawned in a container (user=root container=web shell=bash)","priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["container","shell"],"time":"2024-05-01T12:00:00.000000000Z","output_fields":{"container.name":"web","k8s.ns.name":"prod","k8s.pod.name":"web-1","proc.name":"bash","user.name":"root"}}"#,
            "\n",
            r#"{"hostname":"node-2","output":"x","priority":"Critical","rule":"R","time":"2024-05-01T12:00:01Z","output_fields":{"container.name":"<NA>","proc.name":"nc","fd.cip":"203.0.113.9"}}"#,
            "\n"
        );
        let events = parse(text, &ParseOptions::new("falco", 0));
        assert_eq!(events.len(), 2);
        let a = &events[0];
        assert_eq!(a.kind, "falco");
        assert_eq!(a.host.as_deref(), Some("node-1"));
        assert_eq!(a.action.as_deref(), Some("Terminal shell in container"));
        assert_eq!(a.outcome.as_deref(), Some("Notice"));
        assert_eq!(a.user.as_deref(), Some("root"));
        assert_eq!(a.object.as_deref(), Some("prod/web-1"));
        assert_eq!(a.time, time::parse_rfc3339("2024-05-01T12:00:00Z").unwrap());
        let b = &events[1];
        assert_eq!(b.object.as_deref(), Some("nc"));
        assert_eq!(b.source_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(b.user, None);
    }
}
