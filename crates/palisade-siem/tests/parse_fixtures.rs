//! The parsers on the Kubernetes audit fixtures in `tests/data/` and the real CloudTrail files
//! of the shared corpus (`$PALISADE_CORPUS` or `../shared/corpus` from the project root;
//! skipped with a message when absent).

use std::path::PathBuf;

use palisade_siem::parse::{self, Kind, ParseOptions, time};
use palisade_siem::query;

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/k8s-audit")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.join("cloudtrail").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: no corpus at {} (set PALISADE_CORPUS to the shared corpus)",
            dir.display()
        );
        None
    }
}

fn opts() -> ParseOptions {
    ParseOptions::new("test", 0)
}

fn count(events: &[palisade_siem::Event], q: &str) -> usize {
    let q = query::parse(q).unwrap();
    events.iter().filter(|e| q.matches(e)).count()
}

#[test]
fn k8s_webhook_batch() {
    let input = data("webhook-batch.json");
    assert_eq!(parse::detect(&input), Kind::K8sAudit);
    let events = parse::parse(Kind::K8sAudit, &input, &opts());
    assert_eq!(events.len(), 4);
    assert!(
        events
            .iter()
            .all(|e| e.parse_error.is_none() && !e.truncated)
    );
    let summary: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.user.as_deref().unwrap(),
                e.action.as_deref().unwrap(),
                e.object.as_deref().unwrap(),
                e.outcome.as_deref().unwrap(),
                e.source_ip.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "alice@example.com",
                "create",
                "pods/shop/cart-6d9f8b7c4-x2x9q",
                "success",
                "203.0.113.24"
            ),
            (
                "alice@example.com",
                "create",
                "pods/shop/debug-node",
                "success",
                "203.0.113.24"
            ),
            (
                "system:serviceaccount:monitoring:collector",
                "list",
                "secrets/kube-system",
                "success",
                "10.244.1.17"
            ),
            (
                "system:anonymous",
                "get",
                "secrets/kube-system/cluster-admin-token",
                "failure",
                "198.51.100.77"
            ),
        ]
    );
    assert_eq!(
        events[0].time,
        time::parse_rfc3339("2024-05-01T12:00:00.131903Z").unwrap()
    );
    assert!(
        events[0]
            .raw
            .starts_with("{\n      \"level\": \"Metadata\"")
    );
    assert_eq!(count(&events, "objectRef.subresource:exec"), 1);
    assert_eq!(
        count(
            &events,
            "requestObject.spec.containers.securityContext.privileged:true"
        ),
        1
    );
    assert_eq!(
        count(&events, "objectRef.resource:secrets verb:list OR verb:get"),
        2
    );
    assert_eq!(
        count(
            &events,
            "user.username:system:anonymous responseStatus.code:403"
        ),
        1
    );
    assert_eq!(
        count(&events, "annotations.authorization.k8s.io/decision:forbid"),
        1
    );
    assert_eq!(
        count(&events, "requestURI:/api/v1/namespaces/*/secrets*"),
        2
    );
    assert_eq!(count(&events, "user.groups:developers -exec"), 1);
    assert_eq!(count(&events, "\"is forbidden\""), 1);
}

#[test]
fn k8s_single_event_and_log_backend() {
    let input = data("single-event.json");
    assert_eq!(parse::detect(&input), Kind::K8sAudit);
    let (kind, events) = parse::parse_auto(&input, &opts());
    assert_eq!(kind, Kind::K8sAudit);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].object.as_deref(),
        Some("clusterrolebindings/ops-admin")
    );
    assert_eq!(events[0].action.as_deref(), Some("delete"));
    assert_eq!(events[0].raw, String::from_utf8(input).unwrap().trim_end());

    let input = data("log-backend.ndjson");
    assert_eq!(parse::detect(&input), Kind::K8sAudit);
    let events = parse::parse(Kind::K8sAudit, &input, &opts());
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].outcome, None);
    assert_eq!(events[1].outcome.as_deref(), Some("success"));
    assert_eq!(events[2].object.as_deref(), Some("/version"));
    assert_eq!(
        events[2].time,
        time::parse_rfc3339("2024-05-01T12:07:00.000451Z").unwrap()
    );
}

#[test]
fn cloudtrail_corpus() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("cloudtrail");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let mut all = Vec::new();
    for (name, records) in [
        (
            "aws.credential-access.secretsmanager-retrieve-secrets.json",
            10,
        ),
        ("aws.defense-evasion.cloudtrail-delete.json", 1),
        ("aws.exfiltration.ec2-share-ebs-snapshot.json", 1),
    ] {
        let input = read(name);
        assert_eq!(parse::detect(&input), Kind::CloudTrail, "{name}");
        let events = parse::parse(Kind::CloudTrail, &input, &opts());
        assert_eq!(events.len(), records, "{name}");
        assert!(events.iter().all(|e| e.parse_error.is_none()), "{name}");
        all.extend(events);
    }
    assert!(all.iter().all(|e| e.user.as_deref()
        == Some("arn:aws:sts::677301038893:assumed-role/account-admin/christophe.tafanidereeper")
        && e.outcome.as_deref() == Some("success")
        && e.source_ip.as_deref() == Some("62.167.105.104")));
    assert_eq!(
        count(&all, "action:secretsmanager.amazonaws.com:GetSecretValue"),
        10
    );
    assert_eq!(count(&all, "eventName:DeleteTrail"), 1);
    assert_eq!(count(&all, "action:ec2*"), 1);
    let delete = all
        .iter()
        .find(|e| e.fields["eventName"] == "DeleteTrail")
        .unwrap();
    assert_eq!(
        delete.time,
        time::parse_rfc3339("2022-07-20T20:53:54Z").unwrap()
    );

    // The malformed file, as it came: one event, the error naming the position, raw kept.
    let input = read("aws.execution.ec2-user-data.json");
    assert_eq!(parse::detect(&input), Kind::CloudTrail);
    let events = parse::parse(Kind::CloudTrail, &input, &opts());
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].parse_error.as_deref(),
        Some("invalid JSON at line 112, column 1: expected `,` or `]`")
    );
    assert_eq!(events[0].raw.as_bytes(), input.trim_ascii());
}
