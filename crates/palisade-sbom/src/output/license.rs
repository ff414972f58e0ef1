//! SPDX licence expressions (SPDX 2.3 Annex D), as far as the SBOM writers need them:
//! ids joined by `AND`, `OR` and `WITH`, with parentheses and a trailing `+`.
//!
//! Packages declare licences in every form: SPDX ids (`MIT`), expressions
//! (`(MIT OR Apache-2.0)`), Debian short names (`GPL-2+`), prose (`BSD License`), whole
//! licence texts. [`parse`] reads the first two into an [`Expr`]; anything else either parses
//! with [`Expr::Unknown`] words in it (an expression whose ids are not on the SPDX list) or
//! does not parse at all. The writers decide what to do with each case.

use super::spdx_ids::SPDX_IDS;

/// Deepest nesting of parentheses accepted (a guard against pathological input).
const MAX_DEPTH: usize = 32;

/// Values that say nothing about the licence; the writers leave them out.
pub fn is_placeholder(raw: &str) -> bool {
    let t = raw.trim();
    t.is_empty()
        || ["NOASSERTION", "NONE", "UNKNOWN"]
            .iter()
            .any(|p| t.eq_ignore_ascii_case(p))
}

/// The list's spelling of an SPDX licence or exception id (ids match case-insensitively).
pub fn canonical_id(s: &str) -> Option<&'static str> {
    match SPDX_IDS.binary_search(&s) {
        Ok(i) => Some(SPDX_IDS[i]),
        Err(_) => SPDX_IDS
            .iter()
            .copied()
            .find(|id| id.eq_ignore_ascii_case(s)),
    }
}

/// `idstring` of the SPDX grammar: letters, digits, `-` and `.`.
pub fn is_idstring(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// A parsed licence expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// An id on the SPDX list, in the list's spelling; `plus` for a trailing `+`.
    Id {
        id: &'static str,
        plus: bool,
    },
    /// `LicenseRef-<idstring>`.
    Ref(String),
    /// A word that is neither a listed id nor a `LicenseRef-` (kept as written).
    Unknown(String),
    /// `<simple> WITH <exception>`; the exception is accepted loosely (any idstring).
    With(Box<Expr>, String),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    /// Whether some word of the expression is not a listed id or a `LicenseRef-`.
    pub fn has_unknown(&self) -> bool {
        match self {
            Expr::Id { .. } | Expr::Ref(_) => false,
            Expr::Unknown(_) => true,
            Expr::With(e, _) => e.has_unknown(),
            Expr::And(v) | Expr::Or(v) => v.iter().any(Expr::has_unknown),
        }
    }

    /// The single listed id without `+`, when that is all the expression is.
    pub fn as_plain_id(&self) -> Option<&'static str> {
        match self {
            Expr::Id { id, plus: false } => Some(id),
            _ => None,
        }
    }

    /// Calls `f` on every `LicenseRef-` of the expression.
    pub fn refs<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        match self {
            Expr::Ref(r) => f(r),
            Expr::Id { .. } | Expr::Unknown(_) => {}
            Expr::With(e, _) => e.refs(f),
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.refs(f)),
        }
    }

    /// Calls `f` on every unknown word of the expression.
    pub fn unknowns<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        match self {
            Expr::Unknown(w) => f(w),
            Expr::Id { .. } | Expr::Ref(_) => {}
            Expr::With(e, _) => e.unknowns(f),
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.unknowns(f)),
        }
    }

    /// Replaces every unknown word by the `LicenseRef-` that `f` gives for it.
    pub fn replace_unknowns(self, f: &mut impl FnMut(&str) -> String) -> Expr {
        match self {
            Expr::Unknown(w) => Expr::Ref(f(&w)),
            Expr::Id { .. } | Expr::Ref(_) => self,
            Expr::With(e, x) => Expr::With(Box::new(e.replace_unknowns(f)), x),
            Expr::And(v) => Expr::And(v.into_iter().map(|e| e.replace_unknowns(f)).collect()),
            Expr::Or(v) => Expr::Or(v.into_iter().map(|e| e.replace_unknowns(f)).collect()),
        }
    }

    /// The expression as text: operators upper-case, single spaces, parentheses only
    /// where precedence needs them (an `OR` inside an `AND`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Expr::Id { id, plus } => {
                out.push_str(id);
                if *plus {
                    out.push('+');
                }
            }
            Expr::Ref(s) | Expr::Unknown(s) => out.push_str(s),
            Expr::With(e, x) => {
                e.render_into(out);
                out.push_str(" WITH ");
                out.push_str(x);
            }
            Expr::And(v) => {
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" AND ");
                    }
                    if matches!(e, Expr::Or(_)) {
                        out.push('(');
                        e.render_into(out);
                        out.push(')');
                    } else {
                        e.render_into(out);
                    }
                }
            }
            Expr::Or(v) => {
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" OR ");
                    }
                    e.render_into(out);
                }
            }
        }
    }
}

/// Joins expressions with `AND` (a package that declares several licences is under all of
/// them), dropping repeats.
pub fn all_of(exprs: Vec<Expr>) -> Option<Expr> {
    let mut parts: Vec<Expr> = Vec::new();
    for e in exprs {
        let flat = match e {
            Expr::And(v) => v,
            other => vec![other],
        };
        for p in flat {
            if !parts.contains(&p) {
                parts.push(p);
            }
        }
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Expr::And(parts)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Open,
    Close,
    And,
    Or,
    With,
    Word(&'a str),
}

fn word(w: &str) -> Tok<'_> {
    match w {
        "AND" | "and" => Tok::And,
        "OR" | "or" => Tok::Or,
        "WITH" | "with" => Tok::With,
        w => Tok::Word(w),
    }
}

fn tokens(s: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push(word(&s[st..i]));
            }
            match c {
                '(' => out.push(Tok::Open),
                ')' => out.push(Tok::Close),
                _ => {}
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push(word(&s[st..]));
    }
    out
}

/// Parses a licence expression. Operators are `AND`, `OR`, `WITH` (all upper or all lower
/// case, as SPDX 2.1 allowed; they are written upper-case); ids match case-insensitively.
/// Returns None when the text is not an expression at all (prose, a licence text, two
/// words without an operator, unbalanced parentheses).
pub fn parse(s: &str) -> Option<Expr> {
    let toks = tokens(s);
    if toks.is_empty() {
        return None;
    }
    let mut p = Parser {
        toks: &toks,
        pos: 0,
    };
    let e = p.or(0)?;
    (p.pos == toks.len()).then_some(e)
}

struct Parser<'t, 'a> {
    toks: &'t [Tok<'a>],
    pos: usize,
}

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.pos).copied()
    }

    fn or(&mut self, depth: usize) -> Option<Expr> {
        let mut parts = vec![self.and(depth)?];
        while self.peek() == Some(Tok::Or) {
            self.pos += 1;
            match self.and(depth)? {
                Expr::Or(v) => parts.extend(v),
                e => parts.push(e),
            }
        }
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Option<Expr> {
        let mut parts = vec![self.with(depth)?];
        while self.peek() == Some(Tok::And) {
            self.pos += 1;
            match self.with(depth)? {
                Expr::And(v) => parts.extend(v),
                e => parts.push(e),
            }
        }
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn with(&mut self, depth: usize) -> Option<Expr> {
        let e = self.primary(depth)?;
        if self.peek() != Some(Tok::With) {
            return Some(e);
        }
        self.pos += 1;
        // The grammar allows WITH only after a simple expression.
        if !matches!(e, Expr::Id { .. } | Expr::Ref(_) | Expr::Unknown(_)) {
            return None;
        }
        match self.peek() {
            Some(Tok::Word(x)) if is_idstring(x) => {
                self.pos += 1;
                let x = canonical_id(x).unwrap_or(x).to_string();
                Some(Expr::With(Box::new(e), x))
            }
            _ => None,
        }
    }

    fn primary(&mut self, depth: usize) -> Option<Expr> {
        match self.peek()? {
            Tok::Open => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.pos += 1;
                let e = self.or(depth + 1)?;
                if self.peek() != Some(Tok::Close) {
                    return None;
                }
                self.pos += 1;
                // Parentheses only group: `(A AND B)` inside an AND flattens, which the
                // callers do; an OR keeps its own node.
                Some(e)
            }
            Tok::Word(w) => {
                self.pos += 1;
                Some(simple(w))
            }
            Tok::Close | Tok::And | Tok::Or | Tok::With => None,
        }
    }
}

fn simple(w: &str) -> Expr {
    if let Some(id) = canonical_id(w) {
        return Expr::Id { id, plus: false };
    }
    if let Some(base) = w.strip_suffix('+')
        && let Some(id) = canonical_id(base)
    {
        return Expr::Id { id, plus: true };
    }
    if let Some(rest) = w.strip_prefix("LicenseRef-")
        && is_idstring(rest)
    {
        return Expr::Ref(w.to_string());
    }
    Expr::Unknown(w.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(s: &str) -> Option<String> {
        parse(s).map(|e| e.render())
    }

    #[test]
    fn ids_and_case() {
        assert_eq!(
            parse("MIT"),
            Some(Expr::Id {
                id: "MIT",
                plus: false
            })
        );
        assert_eq!(
            parse("apache-2.0").and_then(|e| e.as_plain_id()),
            Some("Apache-2.0")
        );
        assert_eq!(parse(" MIT ").and_then(|e| e.as_plain_id()), Some("MIT"));
        // Deprecated ids with `+` are list entries of their own.
        assert_eq!(
            parse("GPL-2.0+").and_then(|e| e.as_plain_id()),
            Some("GPL-2.0+")
        );
        assert_eq!(
            parse("Apache-2.0+"),
            Some(Expr::Id {
                id: "Apache-2.0",
                plus: true
            })
        );
        assert!(SPDX_IDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn compound_expressions() {
        assert_eq!(
            render("(MIT OR Apache-2.0)").as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            render("mit or apache-2.0").as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            render("(MIT OR Apache-2.0) AND BSD-3-Clause").as_deref(),
            Some("(MIT OR Apache-2.0) AND BSD-3-Clause")
        );
        assert_eq!(
            render("GPL-2.0-or-later WITH Classpath-exception-2.0 OR MIT").as_deref(),
            Some("GPL-2.0-or-later WITH Classpath-exception-2.0 OR MIT")
        );
        assert_eq!(
            render("(A-1 AND (MIT AND ISC))").as_deref(),
            Some("A-1 AND MIT AND ISC")
        );
        assert_eq!(
            render("LicenseRef-foo.bar OR MIT").as_deref(),
            Some("LicenseRef-foo.bar OR MIT")
        );
        // WITH takes any idstring as the exception.
        assert!(parse("GPL-2.0-only WITH Some-Exception").is_some_and(|e| !e.has_unknown()));
    }

    #[test]
    fn unknown_words_and_non_expressions() {
        let e = parse("GPL-2+ OR Artistic").unwrap();
        assert!(e.has_unknown());
        let mut words = Vec::new();
        e.unknowns(&mut |w| words.push(w.to_string()));
        assert_eq!(words, ["GPL-2+", "Artistic"]);
        let replaced = e.replace_unknowns(&mut |w| format!("LicenseRef-x{}", w.len()));
        assert_eq!(replaced.render(), "LicenseRef-x6 OR LicenseRef-x8");
        for bad in [
            "",
            "BSD License",
            "MIT, Apache-2.0",
            "(MIT",
            "MIT)",
            "MIT OR",
            "AND",
            "(MIT OR ISC) WITH Classpath-exception-2.0",
            "MIT WITH",
            "MIT WITH bad,exception",
            "MIT And ISC",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        let deep = format!("{}MIT{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(parse(&deep), None);
        let ok = format!("{}MIT{}", "(".repeat(10), ")".repeat(10));
        assert_eq!(render(&ok).as_deref(), Some("MIT"));
    }

    #[test]
    fn all_of_joins_and_dedups() {
        let a = parse("MIT OR Apache-2.0").unwrap();
        let b = parse("BSD-3-Clause AND ISC").unwrap();
        let joined = all_of(vec![a.clone(), b, parse("mit").unwrap(), a]).unwrap();
        assert_eq!(
            joined.render(),
            "(MIT OR Apache-2.0) AND BSD-3-Clause AND ISC AND MIT"
        );
        assert_eq!(all_of(Vec::new()), None);
        assert!(
            is_placeholder(" unknown ") && is_placeholder("NOASSERTION") && !is_placeholder("MIT")
        );
    }
}
