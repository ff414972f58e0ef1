//! What both backends share when turning a [`Query`] into SQL: the tree walk, LIKE patterns,
//! and which names are columns. Values only ever travel as bound parameters.

use crate::query::Query;

/// The stored columns in select order (quoted for both dialects: `user` is reserved in SQL).
pub(crate) const SELECT_COLUMNS: &str = "id, \"time\", received, source, kind, host, \"user\", action, object, outcome, source_ip, raw, fields, parse_error, truncated";

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

/// A normalised name's column, and how its text is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    /// A text column, compared as it is.
    Text(&'static str),
    /// Unix nanoseconds, compared as RFC 3339 UTC text (`2024-05-01T12:00:00Z`, or with nine
    /// fraction digits when not a whole second), as `Query::matches` does.
    Time(&'static str),
    /// A boolean, compared as `true`/`false`.
    Flag(&'static str),
}

impl Col {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Col::Text(c) | Col::Time(c) | Col::Flag(c) => c,
        }
    }
}

/// The column a normalised name (`crate::query::NORMALISED_FIELDS`) is, quoted.
pub(crate) fn column(path: &str) -> Option<Col> {
    Some(match path {
        "time" => Col::Time("\"time\""),
        "received" => Col::Time("received"),
        "source" => Col::Text("source"),
        "kind" => Col::Text("kind"),
        "host" => Col::Text("host"),
        "user" => Col::Text("\"user\""),
        "action" => Col::Text("action"),
        "object" => Col::Text("object"),
        "outcome" => Col::Text("outcome"),
        "source_ip" => Col::Text("source_ip"),
        "parse_error" => Col::Text("parse_error"),
        "truncated" => Col::Flag("truncated"),
        _ => return None,
    })
}

/// A LIKE pattern (escape character `\`) and whether it needs Unicode case folding (it has
/// non-ASCII characters, and was lowercased with Unicode rules: the text must be too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    pub like: String,
    pub unicode: bool,
    /// The value has a character JSON text escapes (`"`, `\\`, control characters).
    pub escaped: bool,
    /// The value itself when it has no wildcard (`field:value` is then plain equality).
    pub exact: Option<String>,
    /// A `LIKE` pattern that the JSON text of every event with a match contains, when JSON
    /// writes the value's characters as they are (not `escaped`, not `unicode`). A value no
    /// number or boolean could match (it has a character other than digits, `.+-` and the
    /// letters of `true`/`false`) can only match a string, which JSON writes between quotes:
    /// the quotes are part of the pattern where the value is not open-ended (`*`), so that
    /// `verb:delete` does not pass on `"DeleteOptions"`.
    pub in_json: String,
}

fn pattern(value: &str, contains: bool) -> Pattern {
    let unicode = !value.is_ascii();
    let escaped = value
        .chars()
        .any(|c| c == '"' || c == '\\' || (c as u32) < 0x20);
    let folded;
    let value = if unicode {
        folded = value.to_lowercase();
        folded.as_str()
    } else {
        value
    };
    let mut like = String::with_capacity(value.len() + 2);
    if contains {
        like.push('%');
    }
    for c in value.chars() {
        match c {
            '*' => like.push('%'),
            '%' | '_' | '\\' => {
                like.push('\\');
                like.push(c);
            }
            c => like.push(c),
        }
    }
    if contains {
        like.push('%');
    }
    let exact = (!contains && !value.contains('*')).then(|| value.to_string());
    let string_only = value
        .chars()
        .any(|c| c != '*' && !"0123456789.+-eEtTrRuUfFaAlLsS".contains(c));
    let quote = |open: bool| if string_only && !open { "\"" } else { "" };
    let in_json = if contains {
        like.clone()
    } else {
        format!(
            "%{}{like}{}%",
            quote(value.starts_with('*')),
            quote(value.ends_with('*'))
        )
    };
    Pattern {
        like,
        unicode,
        escaped,
        exact,
        in_json,
    }
}

/// The pattern for `field:value`: the whole text, `*` matching any run of characters, every
/// other character (`%`, `_`, `\` included) itself.
pub(crate) fn like_pattern(value: &str) -> Pattern {
    pattern(value, false)
}

/// The pattern for full text: contains `text` (`*` a wildcard).
pub(crate) fn contains_pattern(text: &str) -> Pattern {
    pattern(text, true)
}

/// How one dialect writes the leaves; each returns a boolean SQL expression that is never NULL
/// (so that `NOT` of a missing field is true, as in `Query::matches`).
pub(crate) trait Leaves {
    /// Adds a parameter, returns its placeholder.
    fn bind(&mut self, p: Param) -> String;
    fn column_like(&mut self, column: Col, pattern: Pattern) -> String;
    /// One reading of a path: `keys[0]`, then `keys[1]` in it, … (arrays searched through).
    fn json_like(&mut self, keys: &[String], pattern: &Pattern) -> String;
    fn json_exists(&mut self, keys: &[String]) -> String;
    fn text(&mut self, pattern: Pattern) -> String;
    fn truth(&self) -> &'static str;
    fn falsity(&self) -> &'static str;
}

/// Depth beyond which a query is refused (the parser never builds one this deep).
pub(crate) const MAX_DEPTH: usize = 200;
/// A path with more dots than this is read only as one key per segment (not every grouping of
/// its segments into dotted keys).
pub(crate) const MAX_GROUPED_DOTS: usize = 5;

/// The WHERE expression for a query.
pub(crate) fn translate(q: &Query, l: &mut impl Leaves, depth: usize) -> Result<String, String> {
    if depth > MAX_DEPTH {
        return Err(format!("the search nests deeper than {MAX_DEPTH} levels"));
    }
    Ok(match q {
        Query::All => l.truth().to_string(),
        Query::Field { path, value } => {
            let pattern = like_pattern(value);
            match column(path) {
                Some(c) => l.column_like(c, pattern),
                None => {
                    let alts: Vec<String> = readings(path)
                        .iter()
                        .map(|keys| l.json_like(keys, &pattern))
                        .collect();
                    any(alts)
                }
            }
        }
        Query::Exists { path } => match column(path) {
            Some(c) => format!("({} IS NOT NULL)", c.name()),
            None => {
                let alts: Vec<String> = readings(path).iter().map(|k| l.json_exists(k)).collect();
                any(alts)
            }
        },
        Query::Text(t) => l.text(contains_pattern(t)),
        Query::And(qs) | Query::Or(qs) => {
            let (join, empty) = if matches!(q, Query::And(_)) {
                (" AND ", l.truth())
            } else {
                (" OR ", l.falsity())
            };
            if qs.is_empty() {
                return Ok(empty.to_string());
            }
            let mut parts = Vec::with_capacity(qs.len());
            for q in qs {
                parts.push(translate(q, l, depth + 1)?);
            }
            format!("({})", parts.join(join))
        }
        Query::Not(q) => format!("(NOT {})", translate(q, l, depth + 1)?),
    })
}

fn any(alts: Vec<String>) -> String {
    if alts.len() == 1 {
        alts.into_iter().next().unwrap_or_default()
    } else {
        format!("({})", alts.join(" OR "))
    }
}

/// The ways a dotted path reads as keys: `a.b.c` is `[a, b, c]`, `[a.b, c]`, `[a, b.c]` and
/// `[a.b.c]` (keys may contain dots, as `authorization.k8s.io/decision`). A leading `fields.`
/// is dropped (it reaches a key named like a normalised field).
pub(crate) fn readings(path: &str) -> Vec<Vec<String>> {
    let path = path.strip_prefix("fields.").unwrap_or(path);
    let segments: Vec<&str> = path.split('.').collect();
    let dots = segments.len() - 1;
    if dots > MAX_GROUPED_DOTS {
        return vec![segments.iter().map(|s| s.to_string()).collect()];
    }
    // Bit i of the mask set: the dot after segment i separates keys.
    (0..1u32 << dots)
        .rev()
        .map(|mask| {
            let mut keys = Vec::new();
            let mut cur = segments[0].to_string();
            for (i, seg) in segments.iter().enumerate().skip(1) {
                if mask & (1 << (i - 1)) != 0 {
                    keys.push(std::mem::take(&mut cur));
                    cur.push_str(seg);
                } else {
                    cur.push('.');
                    cur.push_str(seg);
                }
            }
            keys.push(cur);
            keys
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape() {
        assert_eq!(like_pattern("a*b").like, "a%b");
        assert_eq!(like_pattern("50%_\\").like, "50\\%\\_\\\\");
        assert_eq!(contains_pattern("x%*").like, "%x\\%%%");
        assert_eq!(
            like_pattern("STRASSE Ä"),
            Pattern {
                like: "STRASSE Ä".to_lowercase(),
                unicode: true,
                escaped: false,
                exact: Some("STRASSE Ä".to_lowercase()),
                in_json: format!("%\"{}\"%", "STRASSE Ä".to_lowercase()),
            }
        );
        // What the JSON text must contain: quoted where only a string can match.
        assert_eq!(like_pattern("delete").in_json, "%\"delete\"%");
        assert_eq!(like_pattern("prod/*").in_json, "%\"prod/%%");
        assert_eq!(like_pattern("*secrets").in_json, "%%secrets\"%");
        assert_eq!(like_pattern("403").in_json, "%403%");
        assert_eq!(like_pattern("TRUE").in_json, "%TRUE%");
        assert_eq!(like_pattern("-1.5e3").in_json, "%-1.5e3%");
        assert_eq!(like_pattern("4*").in_json, "%4%%");
        assert_eq!(like_pattern("50%").in_json, "%\"50\\%\"%");
    }

    #[test]
    fn path_readings() {
        let r = readings("fields.a.b.c");
        assert_eq!(r.len(), 4);
        assert_eq!(r[0], ["a", "b", "c"]);
        assert!(r.contains(&vec!["a.b".to_string(), "c".to_string()]));
        assert!(r.contains(&vec!["a".to_string(), "b.c".to_string()]));
        assert_eq!(r[3], ["a.b.c"]);
        assert_eq!(readings("x"), vec![vec!["x".to_string()]]);
        assert_eq!(readings("a.b.c.d.e.f.g.h").len(), 1);
    }
}
