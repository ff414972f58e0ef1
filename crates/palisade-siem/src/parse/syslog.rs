//! Syslog lines: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`) and RFC 3164 /
//! BSD (`<PRI>Mmm dd hh:mm:ss host tag[pid]: msg`, the `<PRI>` optional as in log files; the
//! year, which the line lacks, is inferred from the time received). One event a line.
//!
//! `fields`: `facility`, `facility_name`, `severity`, `severity_name` (when there is a PRI),
//! `version` (5424), `timestamp` (as sent), `hostname`, `app_name`, `procid`, `msgid` (5424),
//! `structured_data` (5424: `{sd-id: {param: value}}`, a repeated param becomes an array),
//! `message`. Normalised: host = hostname, action = app_name.

use serde_json::{Map, Value};

use super::{Kind, ParseOptions, error_event, new_event, time};
use crate::event::{Event, Nanos};

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

pub fn parse(text: &str, opts: &ParseOptions) -> Vec<Event> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        out.push(parse_line(line, opts).unwrap_or_else(|msg| {
            error_event(
                Kind::Syslog,
                opts,
                line,
                format!("line {}: {msg}", i + opts.first_line.max(1)),
            )
        }));
    }
    out
}

/// Parses one syslog line (RFC 5424 or RFC 3164).
pub fn parse_line(line: &str, opts: &ParseOptions) -> Result<Event, String> {
    let mut fields = Map::new();
    let mut rest = line;
    if let Some(after) = rest.strip_prefix('<') {
        let end = after
            .find('>')
            .filter(|&e| (1..=3).contains(&e))
            .ok_or("a syslog PRI is `<` 1 to 3 digits `>`")?;
        let pri: u32 = after[..end]
            .parse()
            .ok()
            .filter(|p| *p <= 191)
            .ok_or("the syslog PRI must be a number from 0 to 191")?;
        fields.insert("facility".into(), (pri / 8).into());
        fields.insert(
            "facility_name".into(),
            FACILITIES[(pri / 8) as usize].into(),
        );
        fields.insert("severity".into(), (pri % 8).into());
        fields.insert(
            "severity_name".into(),
            SEVERITIES[(pri % 8) as usize].into(),
        );
        rest = &after[end + 1..];
    }
    let (time, fields) = match rest.as_bytes().first() {
        Some(b'1'..=b'9') if rest.as_bytes().get(1) == Some(&b' ') => {
            rfc5424(rest, fields, opts.received)?
        }
        _ => rfc3164(rest, fields, opts.received)?,
    };
    let mut event = new_event(Kind::Syslog, opts, line, Value::Object(fields));
    if let Some(t) = time {
        event.time = t;
    }
    event.host = event
        .fields
        .get("hostname")
        .and_then(Value::as_str)
        .map(str::to_owned);
    event.action = event
        .fields
        .get("app_name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(event)
}

/// Splits off the next space-separated header field.
fn next_field<'a>(rest: &mut &'a str, what: &str) -> Result<&'a str, String> {
    let s = *rest;
    let (field, tail) = match s.find(' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    if field.is_empty() {
        return Err(format!("RFC 5424 header: missing {what}"));
    }
    *rest = tail;
    Ok(field)
}

fn put_header(fields: &mut Map<String, Value>, key: &str, value: &str) {
    if value != "-" {
        fields.insert(key.into(), value.into());
    }
}

fn rfc5424(
    line: &str,
    mut fields: Map<String, Value>,
    _received: Nanos,
) -> Result<(Option<Nanos>, Map<String, Value>), String> {
    let mut rest = line;
    let version = next_field(&mut rest, "VERSION")?;
    fields.insert(
        "version".into(),
        version
            .parse::<u32>()
            .map_err(|_| "RFC 5424 VERSION must be a number")?
            .into(),
    );
    let timestamp = next_field(&mut rest, "TIMESTAMP")?;
    let time =
        if timestamp == "-" {
            None
        } else {
            Some(time::parse_rfc3339(timestamp).ok_or_else(|| {
                format!("RFC 5424 TIMESTAMP {timestamp:?} is not an RFC 3339 time")
            })?)
        };
    put_header(&mut fields, "timestamp", timestamp);
    let hostname = next_field(&mut rest, "HOSTNAME")?;
    put_header(&mut fields, "hostname", hostname);
    let app = next_field(&mut rest, "APP-NAME")?;
    put_header(&mut fields, "app_name", app);
    let procid = next_field(&mut rest, "PROCID")?;
    put_header(&mut fields, "procid", procid);
    let msgid = next_field(&mut rest, "MSGID")?;
    put_header(&mut fields, "msgid", msgid);
    if rest.is_empty() {
        return Err("RFC 5424 header: missing STRUCTURED-DATA (`-` when there is none)".into());
    }
    let msg = if let Some(tail) = rest.strip_prefix('-') {
        tail
    } else if rest.starts_with('[') {
        let (sd, tail) = structured_data(rest)?;
        fields.insert("structured_data".into(), Value::Object(sd));
        tail
    } else {
        return Err("RFC 5424 STRUCTURED-DATA must be `-` or start with `[`".into());
    };
    let msg = match msg.strip_prefix(' ') {
        Some(m) => m,
        None if msg.is_empty() => "",
        None => return Err("RFC 5424: expected a space after STRUCTURED-DATA".into()),
    };
    let msg = msg.strip_prefix('\u{FEFF}').unwrap_or(msg);
    if !msg.is_empty() {
        fields.insert("message".into(), msg.into());
    }
    Ok((time, fields))
}

/// Parses `[id param="value" ...]...`, returning it and what follows.
fn structured_data(s: &str) -> Result<(Map<String, Value>, &str), String> {
    let mut out = Map::new();
    let mut chars = s.char_indices().peekable();
    loop {
        match chars.peek() {
            Some((_, '[')) => {
                chars.next();
            }
            Some((i, _)) => return Ok((out, &s[*i..])),
            None => return Ok((out, "")),
        }
        let mut id = String::new();
        while let Some(&(_, c)) = chars.peek() {
            if c == ' ' || c == ']' {
                break;
            }
            if c == '=' || c == '"' {
                return Err(format!("structured data: invalid character {c:?} in SD-ID"));
            }
            id.push(c);
            chars.next();
        }
        if id.is_empty() {
            return Err("structured data: empty SD-ID".into());
        }
        let mut params = Map::new();
        loop {
            match chars.next() {
                Some((_, ']')) => break,
                Some((_, ' ')) => {}
                Some((_, c)) => {
                    return Err(format!(
                        "structured data: unexpected {c:?} in element {id:?}"
                    ));
                }
                None => {
                    return Err(format!(
                        "structured data: element {id:?} is not closed with `]`"
                    ));
                }
            }
            let mut name = String::new();
            loop {
                match chars.next() {
                    Some((_, '=')) => break,
                    Some((_, c)) if c != ' ' && c != ']' && c != '"' => name.push(c),
                    _ => {
                        return Err(format!(
                            "structured data: expected PARAM-NAME=\"value\" in element {id:?}"
                        ));
                    }
                }
            }
            if name.is_empty() || chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!(
                    "structured data: expected PARAM-NAME=\"value\" in element {id:?}"
                ));
            }
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.peek() {
                        Some(&(_, c @ ('"' | '\\' | ']'))) => {
                            value.push(c);
                            chars.next();
                        }
                        _ => value.push('\\'),
                    },
                    Some((_, c)) => value.push(c),
                    None => {
                        return Err(format!(
                            "structured data: the value of {name:?} in element {id:?} has no closing quote"
                        ));
                    }
                }
            }
            match params.get_mut(&name) {
                Some(Value::Array(values)) => values.push(value.into()),
                Some(old) => {
                    let first = old.take();
                    *old = Value::Array(vec![first, value.into()]);
                }
                None => {
                    params.insert(name, value.into());
                }
            }
        }
        out.insert(id, Value::Object(params));
    }
}

fn rfc3164(
    line: &str,
    mut fields: Map<String, Value>,
    received: Nanos,
) -> Result<(Option<Nanos>, Map<String, Value>), String> {
    // "Mmm dd hh:mm:ss " is 16 bytes; the day may be space-padded.
    let head = line
        .get(..16)
        .ok_or("not a syslog line: expected RFC 5424 or `Mmm dd hh:mm:ss host tag: message`")?;
    let b = head.as_bytes();
    let bad = || "not a syslog line: expected RFC 5424 or `Mmm dd hh:mm:ss host tag: message`";
    if !head.is_ascii() {
        return Err(bad().into());
    }
    let month = time::month_from_abbrev(&head[..3]).ok_or_else(bad)?;
    if b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' || b[15] != b' ' {
        return Err(bad().into());
    }
    let day: u32 = head[4..6].trim_start().parse().map_err(|_| bad())?;
    let num = |r: std::ops::Range<usize>| head[r].parse::<u32>().map_err(|_| bad());
    let (hour, minute, second) = (num(7..9)?, num(10..12)?, num(13..15)?);
    let time = time::infer_year(received, month, day, hour, minute, second)
        .ok_or_else(|| format!("not a valid date and time: {:?}", &head[..15]))?;
    fields.insert("timestamp".into(), head[..15].into());
    let mut rest = &line[16..];
    let host_end = rest.find(' ').unwrap_or(rest.len());
    if host_end == 0 {
        return Err("RFC 3164: missing HOSTNAME after the timestamp".into());
    }
    fields.insert("hostname".into(), rest[..host_end].into());
    rest = rest.get(host_end + 1..).unwrap_or("");
    // TAG: up to 32 characters ended by `[`, `:` or a space.
    let tag_end = rest.find(['[', ':', ' ']).unwrap_or(rest.len());
    let tag = &rest[..tag_end];
    let after_tag = &rest[tag_end..];
    let mut message = rest;
    if !tag.is_empty() && tag.len() <= 48 {
        if let Some(p) = after_tag.strip_prefix('[') {
            if let Some(close) = p.find(']') {
                let tail = &p[close + 1..];
                if let Some(m) = tail.strip_prefix(':') {
                    fields.insert("app_name".into(), tag.into());
                    fields.insert("procid".into(), p[..close].into());
                    message = m.strip_prefix(' ').unwrap_or(m);
                }
            }
        } else if let Some(m) = after_tag.strip_prefix(':') {
            fields.insert("app_name".into(), tag.into());
            message = m.strip_prefix(' ').unwrap_or(m);
        }
    }
    if !message.is_empty() {
        fields.insert("message".into(), message.into());
    }
    Ok((Some(time), fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts() -> ParseOptions {
        ParseOptions::new(
            "syslog",
            time::parse_rfc3339("2025-01-02T00:00:00Z").unwrap(),
        )
    }

    #[test]
    fn rfc5424_with_structured_data_and_bom() {
        let line = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Appl\\\"ic\\\\at\\]ion\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] \u{FEFF}An application event";
        let e = parse_line(line, &opts()).unwrap();
        assert_eq!(e.raw, line);
        assert_eq!(
            e.time,
            time::parse_rfc3339("2003-10-11T22:14:15.003Z").unwrap()
        );
        assert_eq!(e.host.as_deref(), Some("mymachine.example.com"));
        assert_eq!(e.action.as_deref(), Some("evntslog"));
        assert_eq!(
            e.fields,
            json!({
                "facility": 20, "facility_name": "local4", "severity": 5, "severity_name": "notice",
                "version": 1, "timestamp": "2003-10-11T22:14:15.003Z",
                "hostname": "mymachine.example.com", "app_name": "evntslog", "msgid": "ID47",
                "structured_data": {
                    "exampleSDID@32473": {"iut": "3", "eventSource": "Appl\"ic\\at]ion", "eventID": "1011"},
                    "examplePriority@32473": {"class": "high"}
                },
                "message": "An application event"
            })
        );
    }

    #[test]
    fn rfc5424_nil_values() {
        let e = parse_line("<34>1 - - - - - -", &opts()).unwrap();
        assert_eq!(e.time, opts().received);
        assert_eq!(
            e.fields,
            json!({"facility": 4, "facility_name": "auth", "severity": 2, "severity_name": "crit", "version": 1})
        );
        let e = parse_line(
            "<13>1 2024-01-01T00:00:00+01:00 h app 12 - [a x=\"1\" x=\"2\"]",
            &opts(),
        )
        .unwrap();
        assert_eq!(e.fields["structured_data"], json!({"a": {"x": ["1", "2"]}}));
        assert_eq!(e.fields["procid"], "12");
        assert_eq!(e.time, time::parse_rfc3339("2023-12-31T23:00:00Z").unwrap());
    }

    #[test]
    fn rfc3164_lines() {
        let e = parse_line(
            "<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8",
            &opts(),
        )
        .unwrap();
        assert_eq!(e.time, time::parse_rfc3339("2024-10-11T22:14:15Z").unwrap());
        assert_eq!(
            e.fields,
            json!({
                "facility": 4, "facility_name": "auth", "severity": 2, "severity_name": "crit",
                "timestamp": "Oct 11 22:14:15", "hostname": "mymachine", "app_name": "su",
                "procid": "230", "message": "'su root' failed for lonvick on /dev/pts/8"
            })
        );
        assert_eq!(e.host.as_deref(), Some("mymachine"));
        assert_eq!(e.action.as_deref(), Some("su"));
        let e = parse_line("Jan  1 00:00:01 host kernel: boot", &opts()).unwrap();
        assert_eq!(e.time, time::parse_rfc3339("2025-01-01T00:00:01Z").unwrap());
        assert_eq!(e.fields["app_name"], "kernel");
        assert_eq!(e.fields.get("facility"), None);
        let e = parse_line(
            "Jan  1 00:00:01 host last message repeated 3 times",
            &opts(),
        )
        .unwrap();
        assert_eq!(e.fields.get("app_name"), None);
        assert_eq!(e.fields["message"], "last message repeated 3 times");
    }

    #[test]
    fn bad_lines_are_kept_with_errors() {
        let text = "<999>1 - - - - - -\n\n<13>1 2024-13-01T00:00:00Z h a - - -\nhello world\n<13>1 - h a p m [x a=\"unterminated]\n<13\nFeb 30 00:00:00 h x: y\n<13>1 - h a p m [x a=\"1\"]junk\né\u{1F600}Jan  1 00:00\n";
        let events = parse(text, &opts());
        let errors: Vec<&str> = events
            .iter()
            .map(|e| e.parse_error.as_deref().unwrap())
            .collect();
        assert_eq!(
            errors,
            [
                "line 1: the syslog PRI must be a number from 0 to 191",
                "line 3: RFC 5424 TIMESTAMP \"2024-13-01T00:00:00Z\" is not an RFC 3339 time",
                "line 4: not a syslog line: expected RFC 5424 or `Mmm dd hh:mm:ss host tag: message`",
                "line 5: structured data: the value of \"a\" in element \"x\" has no closing quote",
                "line 6: a syslog PRI is `<` 1 to 3 digits `>`",
                "line 7: not a valid date and time: \"Feb 30 00:00:00\"",
                "line 8: RFC 5424: expected a space after STRUCTURED-DATA",
                "line 9: not a syslog line: expected RFC 5424 or `Mmm dd hh:mm:ss host tag: message`",
            ]
        );
        assert_eq!(events[2].raw, "hello world");
        assert!(events.iter().all(|e| e.fields == json!({})));
    }
}
