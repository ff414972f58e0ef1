//! The search language.
//!
//! ```text
//! verb:create objectRef.resource:pods          two field filters (AND is implied)
//! user.username:"system:admin" OR verb:delete  quoted values, OR
//! NOT outcome:success AND (pods OR secrets)     NOT, parentheses, bare words = full text
//! requestURI:/api/v1/namespaces/*/secrets*     * matches any run of characters
//! ```
//!
//! Field names are dotted paths into the event's `fields` (arrays are searched through), or one
//! of the normalised names (`time`, `source`, `kind`, `host`, `user`, `action`, `object`,
//! `outcome`, `source_ip`; also `received`, `parse_error`, `truncated`: [`NORMALISED_FIELDS`]).
//! Bare words and quoted phrases search the raw event, case-insensitively.
//!
//! Grammar, as [`parse`] reads it:
//! - Precedence `NOT` > `AND` > `OR`; terms side by side are ANDed; parentheses group.
//!   The keywords are uppercase only (`and` is a word to search for).
//! - `-term` (a `-` directly before a term or `(`) is `NOT term`; a lone `-` is a word.
//! - `field:value`: the field name is everything before the first `:`, the value everything
//!   after (`user:system:admin` is user = `system:admin`), up to a space or parenthesis;
//!   `field:"a phrase"` quotes it. `field:*` (unquoted) is [`Query::Exists`].
//! - In quotes, `\"` is a quote and `\\` a backslash (a backslash before anything else stands
//!   for that character).
//! - Limits: [`MAX_QUERY_BYTES`] of input, [`MAX_DEPTH`] nested parentheses and `NOT`s. Errors
//!   name the 1-based character column ([`QueryError`]).
//!
//! [`Query::matches`] is the reference semantics the stores implement in SQL.

use serde::Serialize;
use serde_json::Value;

use crate::event::Event;

/// A parsed search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Query {
    /// Everything (the empty search).
    All,
    /// `field:value`: the field equals the value (case-insensitively), with `*` wildcards.
    Field {
        path: String,
        value: String,
    },
    /// `field:*`: the field is present and not null.
    Exists {
        path: String,
    },
    /// A bare word or quoted phrase: contained in the raw event, case-insensitively.
    Text(String),
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
}

/// A search that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("search {query:?}, at character {column}: {message}")]
pub struct QueryError {
    pub query: String,
    /// 1-based character position.
    pub column: usize,
    pub message: String,
}

/// Longest search accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Deepest nesting of parentheses and `NOT`s accepted.
pub const MAX_DEPTH: usize = 64;

/// The normalised names a field filter can use; any other name is a dotted path into
/// [`Event::fields`] (a path may also start with `fields.` to reach a key that has one of these
/// names).
pub const NORMALISED_FIELDS: &[&str] = &[
    "time",
    "received",
    "source",
    "kind",
    "host",
    "user",
    "action",
    "object",
    "outcome",
    "source_ip",
    "parse_error",
    "truncated",
];

/// Parses a search. The empty search is [`Query::All`].
pub fn parse(input: &str) -> Result<Query, QueryError> {
    let err = |column: usize, message: String| QueryError {
        query: input.chars().take(200).collect(),
        column,
        message,
    };
    if input.len() > MAX_QUERY_BYTES {
        return Err(err(
            1,
            format!("the search is longer than {MAX_QUERY_BYTES} bytes; shorten it"),
        ));
    }
    let tokens = tokenize(input).map_err(|(c, m)| err(c, m))?;
    if tokens.is_empty() {
        return Ok(Query::All);
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        end: input.chars().count() + 1,
    };
    let q = p.or(0).map_err(|(c, m)| err(c, m))?;
    if let Some(t) = p.tokens.get(p.pos) {
        // Only a `)` can stop the top level early.
        return Err(err(
            t.column,
            "unexpected `)`: there is no `(` to close".into(),
        ));
    }
    Ok(q)
}

impl std::str::FromStr for Query {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Query, QueryError> {
        parse(s)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    /// `NOT` or a leading `-`.
    Not,
    Term {
        field: Option<String>,
        value: String,
        quoted: bool,
    },
}

#[derive(Debug)]
struct Token {
    tok: Tok,
    /// 1-based character column.
    column: usize,
}

type PError = (usize, String);

fn is_word_end(c: char) -> bool {
    c.is_whitespace() || c == '(' || c == ')' || c == '"'
}

/// Reads a quoted string starting at `chars[start] == '"'`; returns it and the index after the
/// closing quote. `\"` and `\\` are escapes (a backslash before any other character is kept
/// as the character it precedes).
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), PError> {
    let mut out = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((out, i + 1)),
            '\\' if i + 1 < chars.len() => {
                out.push(chars[i + 1]);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err((
        start + 1,
        "this quote is not closed: add a `\"` at the end of the phrase".into(),
    ))
}

fn tokenize(input: &str) -> Result<Vec<Token>, PError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            '"' => {
                let (value, next) = quoted(&chars, i)?;
                i = next;
                Tok::Term {
                    field: None,
                    value,
                    quoted: true,
                }
            }
            '-' if chars
                .get(i + 1)
                .is_some_and(|n| !n.is_whitespace() && *n != ')') =>
            {
                i += 1;
                Tok::Not
            }
            _ => {
                let start = i;
                while i < chars.len() && !is_word_end(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match word.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    _ => match word.find(':') {
                        None => Tok::Term {
                            field: None,
                            value: word,
                            quoted: false,
                        },
                        Some(0) => {
                            return Err((column, "a field name is missing before `:`".into()));
                        }
                        Some(k) => {
                            let field = word[..k].to_owned();
                            let rest = &word[k + 1..];
                            if !rest.is_empty() {
                                Tok::Term {
                                    field: Some(field),
                                    value: rest.to_owned(),
                                    quoted: false,
                                }
                            } else if chars.get(i) == Some(&'"') {
                                let (value, next) = quoted(&chars, i)?;
                                i = next;
                                Tok::Term {
                                    field: Some(field),
                                    value,
                                    quoted: true,
                                }
                            } else {
                                return Err((
                                    column,
                                    format!(
                                        "`{field}:` has no value: write `{field}:value`, `{field}:\"a phrase\"` or `{field}:*`"
                                    ),
                                ));
                            }
                        }
                    },
                }
            }
        };
        out.push(Token { tok, column });
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// The column just past the input.
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn starts_term(&self) -> bool {
        matches!(
            self.peek().map(|t| &t.tok),
            Some(Tok::LParen | Tok::Not | Tok::Term { .. })
        )
    }

    fn end_column(&self) -> usize {
        self.end
    }

    /// The error for a place where a search term was needed after `what`.
    fn need_term(&self, what: &str) -> PError {
        match self.peek() {
            Some(t) => (
                t.column,
                format!(
                    "`{what}` needs a search term after it, found {}",
                    describe(&t.tok)
                ),
            ),
            None => (
                self.end_column(),
                format!("`{what}` needs a search term after it, found the end of the search"),
            ),
        }
    }

    fn or(&mut self, depth: usize) -> Result<Query, PError> {
        let mut items = vec![self.and(depth)?];
        while matches!(self.peek().map(|t| &t.tok), Some(Tok::Or)) {
            self.pos += 1;
            if !self.starts_term() {
                return Err(self.need_term("OR"));
            }
            items.push(self.and(depth)?);
        }
        Ok(flatten(items, true))
    }

    fn and(&mut self, depth: usize) -> Result<Query, PError> {
        let mut items = vec![self.unary(depth)?];
        loop {
            match self.peek().map(|t| &t.tok) {
                Some(Tok::And) => {
                    self.pos += 1;
                    if !self.starts_term() {
                        return Err(self.need_term("AND"));
                    }
                    items.push(self.unary(depth)?);
                }
                Some(Tok::LParen | Tok::Not | Tok::Term { .. }) => {
                    items.push(self.unary(depth)?);
                }
                _ => break,
            }
        }
        Ok(flatten(items, false))
    }

    fn unary(&mut self, depth: usize) -> Result<Query, PError> {
        let Some(token) = self.tokens.get(self.pos) else {
            return Err((
                self.end_column(),
                "a search term is missing at the end".into(),
            ));
        };
        let column = token.column;
        match token.tok.clone() {
            Tok::Not => {
                if depth >= MAX_DEPTH {
                    return Err((
                        column,
                        format!("the search nests deeper than {MAX_DEPTH} levels"),
                    ));
                }
                self.pos += 1;
                if !self.starts_term() {
                    return Err(self.need_term("NOT"));
                }
                Ok(Query::Not(Box::new(self.unary(depth + 1)?)))
            }
            Tok::LParen => {
                if depth >= MAX_DEPTH {
                    return Err((
                        column,
                        format!("the search nests deeper than {MAX_DEPTH} levels"),
                    ));
                }
                self.pos += 1;
                if let Some(Token {
                    tok: Tok::RParen,
                    column,
                }) = self.peek()
                {
                    return Err((
                        *column,
                        "empty parentheses: put a search term inside `()`".into(),
                    ));
                }
                if !self.starts_term() {
                    return Err(self.need_term("("));
                }
                let inner = self.or(depth + 1)?;
                match self.peek() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err((column, "this `(` is not closed: add a `)`".into())),
                }
            }
            Tok::Term {
                field,
                value,
                quoted,
            } => {
                self.pos += 1;
                Ok(match field {
                    None => Query::Text(value),
                    Some(path) if value == "*" && !quoted => Query::Exists { path },
                    Some(path) => Query::Field { path, value },
                })
            }
            Tok::RParen => Err((column, "unexpected `)`: there is no `(` to close".into())),
            Tok::And => Err((column, "`AND` needs a search term before it".into())),
            Tok::Or => Err((column, "`OR` needs a search term before it".into())),
        }
    }
}

fn describe(tok: &Tok) -> &'static str {
    match tok {
        Tok::LParen => "`(`",
        Tok::RParen => "`)`",
        Tok::And => "`AND`",
        Tok::Or => "`OR`",
        Tok::Not => "`NOT`",
        Tok::Term { .. } => "a term",
    }
}

fn flatten(items: Vec<Query>, or: bool) -> Query {
    let mut out = Vec::with_capacity(items.len());
    for q in items {
        match q {
            Query::Or(inner) if or => out.extend(inner),
            Query::And(inner) if !or => out.extend(inner),
            q => out.push(q),
        }
    }
    if out.len() == 1 {
        out.pop().unwrap_or(Query::All)
    } else if or {
        Query::Or(out)
    } else {
        Query::And(out)
    }
}

impl Query {
    /// Whether `event` matches: the reference semantics of a search.
    ///
    /// - `Field`: a normalised name ([`NORMALISED_FIELDS`]; `time` and `received` as RFC 3339
    ///   UTC text such as `2024-05-01T12:00:00.5Z`, so `time:2024-05-01*` works; `truncated` as
    ///   `true`/`false`) or a dotted path into `fields`. Objects are walked by key (a key that
    ///   itself contains dots, such as `authorization.k8s.io/decision`, is found too), arrays
    ///   are searched through (any element). The value found (a string, or a number or boolean
    ///   as its JSON text) equals the search value case-insensitively, `*` matching any run of
    ///   characters. Null, objects and missing fields never match.
    /// - `Exists`: the field is present and not null (a normalised field: is set).
    /// - `Text`: the raw event contains the text, case-insensitively (`*` is a wildcard).
    pub fn matches(&self, event: &Event) -> bool {
        match self {
            Query::All => true,
            Query::Field { path, value } => {
                let pattern = value.to_lowercase();
                any_value(event, path, &mut |v| match scalar_text(v) {
                    Some(text) => glob(&pattern, &text.to_lowercase(), true),
                    None => false,
                })
            }
            Query::Exists { path } => any_value(event, path, &mut |v| !v.is_null()),
            Query::Text(text) => glob(&text.to_lowercase(), &event.raw.to_lowercase(), false),
            Query::And(qs) => qs.iter().all(|q| q.matches(event)),
            Query::Or(qs) => qs.iter().any(|q| q.matches(event)),
            Query::Not(q) => !q.matches(event),
        }
    }
}

/// The value of a normalised field as text, `None` when the event does not have it (or the
/// name is not a normalised one).
pub fn normalised_value(event: &Event, name: &str) -> Option<String> {
    match name {
        "time" => Some(crate::parse::time::format_rfc3339(event.time)),
        "received" => Some(crate::parse::time::format_rfc3339(event.received)),
        "source" => Some(event.source.clone()),
        "kind" => Some(event.kind.clone()),
        "host" => event.host.clone(),
        "user" => event.user.clone(),
        "action" => event.action.clone(),
        "object" => event.object.clone(),
        "outcome" => event.outcome.clone(),
        "source_ip" => event.source_ip.clone(),
        "parse_error" => event.parse_error.clone(),
        "truncated" => Some(event.truncated.to_string()),
        _ => None,
    }
}

fn scalar_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(s.as_str().into()),
        Value::Number(n) => Some(n.to_string().into()),
        Value::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        _ => None,
    }
}

/// Calls `f` on each value at `path` until it returns true.
fn any_value(event: &Event, path: &str, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    if NORMALISED_FIELDS.contains(&path) {
        return normalised_value(event, path).is_some_and(|v| f(&Value::String(v)));
    }
    let path = path.strip_prefix("fields.").unwrap_or(path);
    let segments: Vec<&str> = path.split('.').collect();
    walk(&event.fields, &segments, f)
}

fn walk(v: &Value, segments: &[&str], f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|item| walk(item, segments, f)),
        _ if segments.is_empty() => f(v),
        Value::Object(map) => (1..=segments.len()).any(|j| {
            let child = if j == 1 {
                map.get(segments[0])
            } else {
                map.get(&segments[..j].join("."))
            };
            child.is_some_and(|child| walk(child, &segments[j..], f))
        }),
        _ => false,
    }
}

/// Matches `text` against `pattern` where `*` is any run of characters: the whole text when
/// `anchored`, else anywhere in it. Both are expected lowercased already. Linear in the text
/// for each piece between stars.
fn glob(pattern: &str, text: &str, anchored: bool) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    if anchored && pieces.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    let mut rest = text;
    let middle: &[&str] = if anchored {
        if text.len() < first.len() + last.len()
            || !text.starts_with(first)
            || !text.ends_with(last)
        {
            return false;
        }
        rest = &text[first.len()..text.len() - last.len()];
        &pieces[1..pieces.len() - 1]
    } else {
        &pieces[..]
    };
    for piece in middle {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(path: &str, value: &str) -> Query {
        Query::Field {
            path: path.into(),
            value: value.into(),
        }
    }

    fn text(t: &str) -> Query {
        Query::Text(t.into())
    }

    fn error(input: &str) -> (usize, String) {
        let e = parse(input).expect_err(input);
        (e.column, e.message)
    }

    #[test]
    fn parses_the_documented_examples() {
        assert_eq!(
            parse("verb:create objectRef.resource:pods").unwrap(),
            Query::And(vec![
                field("verb", "create"),
                field("objectRef.resource", "pods")
            ])
        );
        assert_eq!(
            parse(r#"user.username:"system:admin" OR verb:delete"#).unwrap(),
            Query::Or(vec![
                field("user.username", "system:admin"),
                field("verb", "delete")
            ])
        );
        assert_eq!(
            parse("NOT outcome:success AND (pods OR secrets)").unwrap(),
            Query::And(vec![
                Query::Not(Box::new(field("outcome", "success"))),
                Query::Or(vec![text("pods"), text("secrets")]),
            ])
        );
        assert_eq!(
            parse("requestURI:/api/v1/namespaces/*/secrets*").unwrap(),
            field("requestURI", "/api/v1/namespaces/*/secrets*")
        );
    }

    #[test]
    fn precedence_and_forms() {
        assert_eq!(parse("").unwrap(), Query::All);
        assert_eq!(parse("  \t\n").unwrap(), Query::All);
        assert_eq!(
            parse("a b OR c").unwrap(),
            Query::Or(vec![Query::And(vec![text("a"), text("b")]), text("c")])
        );
        assert_eq!(
            parse("a OR b c").unwrap(),
            Query::Or(vec![text("a"), Query::And(vec![text("b"), text("c")])])
        );
        assert_eq!(
            parse("NOT a b").unwrap(),
            Query::And(vec![Query::Not(Box::new(text("a"))), text("b")])
        );
        assert_eq!(
            parse("-a -(b OR c)").unwrap(),
            Query::And(vec![
                Query::Not(Box::new(text("a"))),
                Query::Not(Box::new(Query::Or(vec![text("b"), text("c")]))),
            ])
        );
        assert_eq!(
            parse("a - b").unwrap(),
            Query::And(vec![text("a"), text("-"), text("b")])
        );
        assert_eq!(
            parse("a OR (b OR c)").unwrap(),
            Query::Or(vec![text("a"), text("b"), text("c")])
        );
        assert_eq!(
            parse("and or not").unwrap(),
            Query::And(vec![text("and"), text("or"), text("not")])
        );
        assert_eq!(parse(r#""OR""#).unwrap(), text("OR"));
        assert_eq!(
            parse(r#""a \"quoted\" \\ phrase""#).unwrap(),
            text(r#"a "quoted" \ phrase"#)
        );
        assert_eq!(parse("f:*").unwrap(), Query::Exists { path: "f".into() });
        assert_eq!(parse(r#"f:"*""#).unwrap(), field("f", "*"));
        assert_eq!(
            parse("user:system:admin").unwrap(),
            field("user", "system:admin")
        );
        assert_eq!(parse("((a))").unwrap(), text("a"));
        assert_eq!(parse("é:ü").unwrap(), field("é", "ü"));
        assert_eq!("x:1".parse::<Query>().unwrap(), field("x", "1"));
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(
            error("a )"),
            (3, "unexpected `)`: there is no `(` to close".into())
        );
        assert_eq!(error("(a"), (1, "this `(` is not closed: add a `)`".into()));
        assert_eq!(
            error("x (a (b)"),
            (3, "this `(` is not closed: add a `)`".into())
        );
        assert_eq!(
            error("()"),
            (2, "empty parentheses: put a search term inside `()`".into())
        );
        assert_eq!(
            error(r#"msg:"abc"#),
            (
                5,
                "this quote is not closed: add a `\"` at the end of the phrase".into()
            )
        );
        assert_eq!(
            error(r#"ü "abc\""#),
            (
                3,
                "this quote is not closed: add a `\"` at the end of the phrase".into()
            )
        );
        assert_eq!(
            error("a OR"),
            (
                5,
                "`OR` needs a search term after it, found the end of the search".into()
            )
        );
        assert_eq!(
            error("OR a"),
            (1, "`OR` needs a search term before it".into())
        );
        assert_eq!(
            error("a AND OR b"),
            (7, "`AND` needs a search term after it, found `OR`".into())
        );
        assert_eq!(
            error("NOT"),
            (
                4,
                "`NOT` needs a search term after it, found the end of the search".into()
            )
        );
        assert_eq!(
            error("(NOT)"),
            (5, "`NOT` needs a search term after it, found `)`".into())
        );
        assert_eq!(
            error(":x"),
            (1, "a field name is missing before `:`".into())
        );
        assert_eq!(
            error("a verb:"),
            (
                3,
                "`verb:` has no value: write `verb:value`, `verb:\"a phrase\"` or `verb:*`".into()
            )
        );
        let e = parse("a )").unwrap_err();
        assert_eq!(
            e.to_string(),
            "search \"a )\", at character 3: unexpected `)`: there is no `(` to close"
        );
    }

    #[test]
    fn adversarial_input_never_panics() {
        let deep = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse(&deep).unwrap(), text("a"));
        let deeper = format!("{}a{}", "(".repeat(100_000 / 2), ")".repeat(100_000 / 2));
        assert_eq!(
            error(&deeper[..MAX_QUERY_BYTES]),
            (
                MAX_DEPTH + 1,
                format!("the search nests deeper than {MAX_DEPTH} levels")
            )
        );
        assert_eq!(
            error(&deeper),
            (
                1,
                format!("the search is longer than {MAX_QUERY_BYTES} bytes; shorten it")
            )
        );
        let nots = "NOT ".repeat(1000) + "a";
        assert_eq!(
            error(&nots),
            (
                4 * MAX_DEPTH + 1,
                format!("the search nests deeper than {MAX_DEPTH} levels")
            )
        );
        let minus = "-".repeat(MAX_DEPTH) + "a";
        assert!(parse(&minus).is_ok());
        assert!(parse(&("-".repeat(MAX_DEPTH + 1) + "a")).is_err());
        for input in [
            "\"",
            "\\",
            "(",
            ")",
            ":",
            "-",
            "--",
            "-)",
            "\"\\",
            "a:\"",
            "((((",
            "))))",
            "NOT NOT",
            "AND",
            "a AND",
            "\u{0}",
            "\u{FEFF}",
            "a:b:c:",
            "\"\"",
            "x:\"\"",
            "-\"",
            "(-)",
            "💣:💥 OR \"💥\\",
            "a:(b)",
        ] {
            let _ = parse(input);
        }
        // Many terms within the size limit.
        let many = "a OR ".repeat(3000) + "b";
        let Query::Or(items) = parse(&many).unwrap() else {
            panic!()
        };
        assert_eq!(items.len(), 3001);
    }

    fn event() -> Event {
        Event {
            time: 1_714_564_800_500_000_000,
            received: 1_714_564_801_000_000_000,
            source: "k8s-audit".into(),
            kind: "k8s_audit".into(),
            host: None,
            user: Some("system:admin".into()),
            action: Some("create".into()),
            object: Some("pods/default/web".into()),
            outcome: Some("success".into()),
            source_ip: Some("10.0.0.1".into()),
            raw: r#"{"verb":"create","requestURI":"/api/v1/namespaces/default/pods/web/EXEC"}"#
                .into(),
            fields: json!({
                "verb": "create",
                "requestURI": "/api/v1/namespaces/default/pods/web/EXEC",
                "user": {"username": "system:admin", "groups": ["system:masters", "system:authenticated"]},
                "objectRef": {"resource": "pods", "namespace": "default"},
                "responseStatus": {"code": 201},
                "items": [{"name": "a"}, {"name": "b", "tags": [["deep"]]}],
                "annotations": {"authorization.k8s.io/decision": "allow"},
                "privileged": true,
                "nothing": null,
                "user.name": "flat"
            }),
            parse_error: None,
            truncated: false,
            fields_from_raw: false,
        }
    }

    fn m(q: &str) -> bool {
        parse(q).unwrap().matches(&event())
    }

    #[test]
    fn evaluates() {
        assert!(m(""));
        assert!(m("verb:create"));
        assert!(m("verb:CREATE"));
        assert!(!m("verb:creat"));
        assert!(m("verb:cr*"));
        assert!(m("verb:*ea*"));
        assert!(m("requestURI:/api/v1/namespaces/*/pods/*/exec"));
        assert!(!m("requestURI:/api/v1/namespaces/*/secrets*"));
        assert!(m("user.username:\"system:admin\""));
        assert!(m("user.groups:system:masters"));
        assert!(m("user.groups:*authenticated"));
        assert!(m("items.name:b"));
        assert!(m("items.tags:deep"));
        assert!(m("responseStatus.code:201"));
        assert!(m("responseStatus.code:2*"));
        assert!(m("privileged:true"));
        assert!(m("annotations.authorization.k8s.io/decision:allow"));
        assert!(m("user.name:flat"));
        assert!(m("fields.verb:create"));
        assert!(!m("nothing:*"));
        assert!(!m("missing:*"));
        assert!(m("objectRef:*"));
        assert!(!m("objectRef:pods"));
        // Normalised names.
        assert!(m("user:system:admin"));
        assert!(m("action:create outcome:success source_ip:10.0.0.*"));
        assert!(m("object:pods/default/*"));
        assert!(m("kind:k8s_audit source:k8s-audit"));
        assert!(!m("host:*"));
        assert!(m("time:2024-05-01T12:00:00.5*"));
        assert!(m("received:2024-05-01T12:00:01Z"));
        assert!(m("truncated:false"));
        assert!(!m("parse_error:*"));
        // Full text.
        assert!(m("exec"));
        assert!(m("\"pods/web/exec\""));
        assert!(m("namespaces*web"));
        assert!(!m("secrets"));
        // Boolean structure.
        assert!(m("NOT verb:delete"));
        assert!(!m("-verb:create"));
        assert!(m("verb:delete OR exec"));
        assert!(!m("verb:delete OR (exec AND secrets)"));
        assert!(m("(verb:delete OR exec) -secrets"));
    }

    #[test]
    fn glob_edge_cases() {
        assert!(glob("", "", true));
        assert!(!glob("", "a", true));
        assert!(glob("*", "", true));
        assert!(glob("a*a", "aa", true));
        assert!(!glob("a*a", "a", true));
        assert!(glob("a**b", "ab", true));
        assert!(glob("*b*", "abc", true));
        assert!(glob("b", "abc", false));
        assert!(glob("", "abc", false));
        assert!(glob("a*c", "xxabcxx", false));
        assert!(!glob("c*a", "abc", false));
    }

    #[test]
    fn random_searches_never_panic() {
        let pieces = [
            "(",
            ")",
            "\"",
            "\\",
            ":",
            "*",
            "-",
            " ",
            "AND ",
            "OR ",
            "NOT ",
            "a",
            "verb",
            "user.groups",
            "é",
            "\u{1F600}",
            ".",
            "fields.",
            "time",
            "\t",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let e = event();
        for _ in 0..20_000 {
            let mut input = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                input.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            match parse(&input) {
                Ok(q) => {
                    let _ = q.matches(&e);
                }
                Err(err) => {
                    assert!(err.column >= 1, "{input:?}");
                    assert!(err.column <= input.chars().count() + 1, "{input:?}: {err}");
                }
            }
        }
    }
}
