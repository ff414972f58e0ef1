//! Kubernetes audit events (`audit.k8s.io/v1`): an `EventList` (what the API server's audit
//! webhook backend posts in batch mode), a single `Event`, or one `Event` a line (the log
//! backend's file).
//!
//! Normalised: time = `stageTimestamp`, else `requestReceivedTimestamp`; user =
//! `user.username`; action = `verb`; object = `objectRef` as `resource/namespace/name` (parts
//! that are absent left out), else `requestURI`; outcome = `success` when
//! `responseStatus.code` < 400, else `failure` (none before the response); source_ip =
//! `sourceIPs[0]`; host = none (the audit event does not name the API server).

use super::{Kind, ParseOptions, str_at, time};
use crate::event::Event;

pub fn parse(text: &str, opts: &ParseOptions) -> Vec<Event> {
    super::parse_json_lists(Kind::K8sAudit, text, opts, "items", normalise)
}

fn normalise(e: &mut Event) {
    let f = &e.fields;
    if let Some(t) = ["stageTimestamp", "requestReceivedTimestamp"]
        .iter()
        .find_map(|k| f.get(k).and_then(time::from_json))
    {
        e.time = t;
    }
    e.user = str_at(f, &["user", "username"]).map(str::to_owned);
    e.action = str_at(f, &["verb"]).map(str::to_owned);
    e.object = match f.get("objectRef") {
        Some(r) if r.is_object() => {
            let parts: Vec<&str> = ["resource", "namespace", "name"]
                .iter()
                .filter_map(|k| str_at(r, &[k]))
                .collect();
            (!parts.is_empty()).then(|| parts.join("/"))
        }
        _ => None,
    }
    .or_else(|| str_at(f, &["requestURI"]).map(str::to_owned));
    e.outcome = f
        .get("responseStatus")
        .and_then(|s| s.get("code"))
        .and_then(|c| c.as_i64())
        .map(|code| if code < 400 { "success" } else { "failure" }.to_owned());
    e.source_ip = f
        .get("sourceIPs")
        .and_then(|ips| ips.get(0))
        .and_then(|ip| ip.as_str())
        .map(str::to_owned);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_event_and_list() {
        let one = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete",
"requestURI":"/api/v1/namespaces/default/pods/web/exec?command=sh","verb":"create",
"user":{"username":"alice","groups":["dev"]},"sourceIPs":["10.0.0.1","10.0.0.2"],
"objectRef":{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1","subresource":"exec"},
"responseStatus":{"metadata":{},"code":101},
"requestReceivedTimestamp":"2024-05-01T12:00:00.000001Z","stageTimestamp":"2024-05-01T12:00:00.123456Z"}"#;
        let events = parse(one, &ParseOptions::new("k8s", 0));
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.parse_error, None);
        assert_eq!(e.kind, "k8s_audit");
        assert_eq!(e.user.as_deref(), Some("alice"));
        assert_eq!(e.action.as_deref(), Some("create"));
        assert_eq!(e.object.as_deref(), Some("pods/default/web"));
        assert_eq!(e.outcome.as_deref(), Some("success"));
        assert_eq!(e.source_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(
            e.time,
            time::parse_rfc3339("2024-05-01T12:00:00.123456Z").unwrap()
        );
        assert_eq!(e.raw, one);

        let list = format!(
            r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{{}},"items":[{one},
{{"kind":"Event","verb":"get","requestURI":"/healthz","user":{{"username":"system:anonymous"}},"responseStatus":{{"code":403}},"requestReceivedTimestamp":"2024-05-01T12:00:01Z"}}]}}"#
        );
        let events = parse(&list, &ParseOptions::new("k8s", 0));
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].raw, one);
        assert_eq!(events[1].object.as_deref(), Some("/healthz"));
        assert_eq!(events[1].outcome.as_deref(), Some("failure"));
        assert_eq!(
            events[1].time,
            time::parse_rfc3339("2024-05-01T12:00:01Z").unwrap()
        );
    }

    #[test]
    fn log_backend_lines() {
        let text = "{\"kind\":\"Event\",\"verb\":\"list\",\"objectRef\":{\"resource\":\"secrets\"}}\n\
                    not json\n\
                    {\"kind\":\"Event\",\"verb\":\"get\",\"objectRef\":{\"resource\":\"namespaces\",\"name\":\"kube-system\"}}\n";
        let events = parse(text, &ParseOptions::new("k8s", 7));
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].object.as_deref(), Some("secrets"));
        assert_eq!(events[0].outcome, None);
        assert_eq!(events[0].time, 7);
        assert_eq!(events[1].raw, "not json");
        assert!(
            events[1]
                .parse_error
                .as_deref()
                .unwrap()
                .starts_with("invalid JSON on line 2, column 2")
        );
        assert_eq!(events[2].object.as_deref(), Some("namespaces/kube-system"));
    }

    #[test]
    fn oversized_event_keeps_its_normalised_fields() {
        let big = "A".repeat(400 * 1024);
        let text = format!(
            r#"{{"kind":"Event","verb":"create","user":{{"username":"bob"}},"objectRef":{{"resource":"configmaps","namespace":"ns","name":"big"}},"responseStatus":{{"code":201}},"requestObject":{{"data":{{"blob":"{big}"}}}}}}"#
        );
        let events = parse(&text, &ParseOptions::new("k8s", 0));
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert!(e.truncated);
        assert_eq!(e.raw.len(), super::super::DEFAULT_MAX_EVENT_BYTES);
        assert!(e.raw.ends_with(super::super::TRUNCATION_MARKER));
        assert_eq!(e.user.as_deref(), Some("bob"));
        assert_eq!(e.object.as_deref(), Some("configmaps/ns/big"));
        assert_eq!(e.outcome.as_deref(), Some("success"));
        assert_eq!(e.fields["verb"], "create");
        assert_eq!(e.fields["requestObject"], super::super::TRUNCATION_MARKER);
    }
}
