//! AWS CloudTrail: log files (`{"Records": [...]}`, gzip too, as CloudTrail writes them to
//! S3) and single records (one a line, as EventBridge or a forwarder sends them).
//!
//! Normalised: time = `eventTime`; user = `userIdentity.arn`, else `userName`, else
//! `principalId`, else `invokedBy`; action = `eventSource:eventName` (or `eventName`);
//! outcome = `failure` when `errorCode` is present, else `success`; source_ip =
//! `sourceIPAddress` (or `network.client.ip`, where a Datadog forwarder moved it); object = the first ARN of `resources`; host = `awsRegion`.

use super::{Kind, ParseOptions, str_at, time};
use crate::event::Event;

pub fn parse(text: &str, opts: &ParseOptions) -> Vec<Event> {
    super::parse_json_lists(Kind::CloudTrail, text, opts, "Records", normalise)
}

fn normalise(e: &mut Event) {
    let f = &e.fields;
    if let Some(t) = f.get("eventTime").and_then(time::from_json) {
        e.time = t;
    }
    e.user = ["arn", "userName", "principalId", "invokedBy"]
        .iter()
        .find_map(|k| str_at(f, &["userIdentity", k]))
        .or_else(|| {
            str_at(
                f,
                &[
                    "userIdentity",
                    "sessionContext",
                    "sessionIssuer",
                    "userName",
                ],
            )
        })
        .map(str::to_owned);
    e.action = match (str_at(f, &["eventSource"]), str_at(f, &["eventName"])) {
        (Some(src), Some(name)) => Some(format!("{src}:{name}")),
        (None, Some(name)) => Some(name.to_owned()),
        _ => None,
    };
    if f.get("eventName").is_some() || f.get("eventSource").is_some() {
        e.outcome = Some(
            if f.get("errorCode").is_some_and(|c| !c.is_null()) {
                "failure"
            } else {
                "success"
            }
            .to_owned(),
        );
    }
    e.source_ip = str_at(f, &["sourceIPAddress"])
        .or_else(|| str_at(f, &["network", "client", "ip"]))
        .map(str::to_owned);
    e.object = f
        .get("resources")
        .and_then(|r| r.as_array())
        .and_then(|r| r.iter().find_map(|r| str_at(r, &["ARN"])))
        .map(str::to_owned);
    e.host = str_at(f, &["awsRegion"]).map(str::to_owned);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_split_and_normalised() {
        let text = r#"{"Records": [
  {"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::1:user/alice","userName":"alice"},
   "eventTime":"2024-03-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1",
   "sourceIPAddress":"198.51.100.7","resources":[{"ARN":"arn:aws:s3:::bucket/key","type":"AWS::S3::Object"}]},
  {"userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},"eventTime":"2024-03-01T10:00:01Z",
   "eventSource":"iam.amazonaws.com","eventName":"PassRole","errorCode":"AccessDenied","errorMessage":"no"}
]}"#;
        let events = parse(text, &ParseOptions::new("ct", 5));
        assert_eq!(events.len(), 2);
        let a = &events[0];
        assert_eq!(a.kind, "cloudtrail");
        assert_eq!(a.source, "ct");
        assert_eq!(a.user.as_deref(), Some("arn:aws:iam::1:user/alice"));
        assert_eq!(a.action.as_deref(), Some("s3.amazonaws.com:GetObject"));
        assert_eq!(a.outcome.as_deref(), Some("success"));
        assert_eq!(a.source_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(a.object.as_deref(), Some("arn:aws:s3:::bucket/key"));
        assert_eq!(a.host.as_deref(), Some("eu-west-1"));
        assert_eq!(a.time, time::parse_rfc3339("2024-03-01T10:00:00Z").unwrap());
        assert!(a.raw.starts_with("{\"eventVersion\""));
        assert!(a.raw.ends_with("}]}"));
        assert_eq!(a.received, 5);
        let b = &events[1];
        assert_eq!(b.user.as_deref(), Some("ec2.amazonaws.com"));
        assert_eq!(b.outcome.as_deref(), Some("failure"));
        assert_eq!(b.source_ip, None);
    }

    #[test]
    fn malformed_file_is_one_clear_error() {
        let text = "{\"Records\": [\n  {\"eventName\": \"A\"}\n  {\"eventName\": \"B\"}\n]}";
        let events = parse(text, &ParseOptions::new("ct", 0));
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].parse_error.as_deref(),
            Some("invalid JSON at line 3, column 3: expected `,` or `]`")
        );
        assert_eq!(events[0].raw, text);
    }

    #[test]
    fn records_not_an_array() {
        let events = parse(r#"{"Records": 5}"#, &ParseOptions::new("ct", 0));
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].parse_error.as_deref(),
            Some("line 1: \"Records\" is not an array")
        );
    }
}
