//! Differential tests of the detection prefilter: it must never leave out a rule that matches.
//!
//! Every SigmaHQ rule in the corpus and the built-in pack are loaded into one detector without
//! routing, so every event meets every rule. Events: SigmaHQ's regression events, the pack's
//! fixtures and benign baseline, the corpus CloudTrail records (Stratus Red Team), and for every
//! compiled rule events built from its own values (as written, upper-cased, and without its
//! filter selections), so that most rules really match something. For each event, every rule
//! is evaluated directly and each one that matches must be among the prefilter's candidates.
//! Then, with routing on, detection with and without the prefilter must give the same matches
//! in the same order.

mod common;

use std::path::{Path, PathBuf};

use palisade_detect::{Detector, Input, Options, RuleSet, SourceKind};
use rsigma_eval::{CompiledDetection, CompiledMatcher, CompiledRule};
use serde_json::{Map, Value, json};

fn all_rules(corpus: &Path) -> RuleSet {
    let mut rules = RuleSet::builtin();
    for dir in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        rules
            .add_path(&corpus.join("sigma").join(dir))
            .expect("rules");
    }
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    rules
}

/// JSON objects, one after another or in arrays (pretty-printed files and NDJSON alike). One
/// corpus CloudTrail file is malformed as recorded: it yields nothing.
fn json_values(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("event file");
    let mut out = Vec::new();
    for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
        let Ok(v) = v else { break };
        match v {
            Value::Array(items) => out.extend(items),
            Value::Object(mut o) => match o.remove("Records") {
                Some(Value::Array(records)) => out.extend(records),
                Some(other) => {
                    o.insert("Records".into(), other);
                    out.push(Value::Object(o));
                }
                None => out.push(Value::Object(o)),
            },
            other => out.push(other),
        }
    }
    out
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk").into_path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// Recorded events: regression data, pack fixtures and baseline, CloudTrail records.
fn recorded(corpus: &Path) -> Vec<Value> {
    let mut events = Vec::new();
    for f in files(&corpus.join("sigma/regression_data"), "json") {
        events.extend(json_values(&f));
    }
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pack");
    for ext in ["json", "ndjson"] {
        for f in files(&pack, ext) {
            events.extend(json_values(&f));
        }
    }
    for f in files(&corpus.join("cloudtrail"), "json") {
        events.extend(json_values(&f));
    }
    events
}

/// A value `m` matches, when one is easy to name.
fn witness(m: &CompiledMatcher, upper: bool) -> Option<Value> {
    let text = |s: String| Some(Value::String(if upper { s.to_uppercase() } else { s }));
    match m {
        CompiledMatcher::Exact { value, .. } => text(value.clone()),
        CompiledMatcher::Contains { value, .. } => text(format!("x{value}y")),
        CompiledMatcher::StartsWith { value, .. } => text(format!("{value}z")),
        CompiledMatcher::EndsWith { value, .. } => text(format!("a{value}")),
        CompiledMatcher::AhoCorasickSet { needles, .. } => text(format!("p{}q", needles[0])),
        CompiledMatcher::Cidr(net) => Some(Value::String(net.network().to_string())),
        CompiledMatcher::NumericEq(n) | CompiledMatcher::NumericGte(n) => Some(json!(n)),
        CompiledMatcher::NumericLte(n) => Some(json!(n)),
        CompiledMatcher::NumericGt(n) => Some(json!(n + 1.0)),
        CompiledMatcher::NumericLt(n) => Some(json!(n - 1.0)),
        CompiledMatcher::Exists(true) => Some(json!("present")),
        CompiledMatcher::Null => Some(Value::Null),
        CompiledMatcher::BoolEq(b) => Some(json!(b)),
        CompiledMatcher::AnyOf(ms) => ms.iter().find_map(|m| witness(m, upper)),
        CompiledMatcher::CaseInsensitiveGroup { children, mode } => match mode {
            rsigma_eval::matcher::GroupMode::Any => children.iter().find_map(|m| witness(m, upper)),
            rsigma_eval::matcher::GroupMode::All => all_witness(children, upper),
        },
        CompiledMatcher::AllOf(ms) => all_witness(ms, upper),
        CompiledMatcher::Regex(re) => regex_witness(re, upper),
        CompiledMatcher::RegexSetMatch { set, .. } => set.patterns().iter().find_map(|p| {
            regex::Regex::new(p)
                .ok()
                .and_then(|re| regex_witness(&re, upper))
        }),
        _ => None,
    }
}

/// A text a Sigma wildcard's regex (`(?i)^a.*b$` and the like) matches: `.*` and `.` filled
/// in, escapes undone. `None` for other regexes.
fn regex_witness(re: &regex::Regex, upper: bool) -> Option<Value> {
    let p = re.as_str();
    let p = p.strip_prefix("(?i)").unwrap_or(p);
    let p = p.strip_prefix('^').unwrap_or(p);
    let p = p.strip_suffix('$').unwrap_or(p);
    let mut text = String::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.push(chars.next()?),
            '.' if chars.peek() == Some(&'*') => {
                chars.next();
                text.push_str("mid");
            }
            '.' => text.push('y'),
            '(' | ')' | '[' | ']' | '|' | '+' | '?' | '{' | '}' | '*' | '^' | '$' => return None,
            c => text.push(c),
        }
    }
    let text = if upper { text.to_uppercase() } else { text };
    re.is_match(&text).then_some(Value::String(text))
}

/// `contains|all` and the like: every part's text, side by side.
fn all_witness(ms: &[CompiledMatcher], upper: bool) -> Option<Value> {
    let mut parts = Vec::new();
    for m in ms {
        match witness(m, upper)? {
            Value::String(s) => parts.push(s),
            other => return Some(other),
        }
    }
    Some(Value::String(parts.join(" ")))
}

/// Put `value` at a dotted path, nesting objects where the path is free.
fn put(event: &mut Map<String, Value>, path: &str, value: Value) {
    let mut segs: Vec<&str> = path.split('.').collect();
    let last = segs.pop().unwrap_or(path);
    let mut cur = &mut *event;
    for s in segs {
        let next = cur
            .entry(s.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        match next {
            Value::Object(o) => cur = o,
            _ => {
                event.insert(path.to_owned(), value);
                return;
            }
        }
    }
    cur.insert(last.to_owned(), value);
}

fn fill(det: &CompiledDetection, upper: bool, event: &mut Map<String, Value>) {
    match det {
        CompiledDetection::AllOf(items) => {
            for item in items {
                let value = match item.exists {
                    Some(true) => Some(json!("present")),
                    Some(false) => None,
                    None => witness(&item.matcher, upper),
                };
                match (&item.field, value) {
                    (Some(f), Some(v)) => put(event, f, v),
                    (None, Some(v)) => {
                        event.insert("keyword".into(), v);
                    }
                    _ => {}
                }
            }
        }
        CompiledDetection::AnyOf(ds) => {
            if let Some(d) = ds.first() {
                fill(d, upper, event);
            }
        }
        CompiledDetection::And(ds) => ds.iter().for_each(|d| fill(d, upper, event)),
        CompiledDetection::Keywords(m) => {
            if let Some(v) = witness(m, upper) {
                event.insert("keyword".into(), v);
            }
        }
        CompiledDetection::ArrayMatch { .. } | CompiledDetection::Conditional { .. } => {}
    }
}

/// Events built from a rule's own values: all selections, then without those named like
/// filters, then that upper-cased.
fn witnesses(rule: &CompiledRule) -> Vec<Value> {
    let mut out = Vec::new();
    for (skip_filters, upper) in [(false, false), (true, false), (true, true)] {
        let mut names: Vec<&String> = rule.detections.keys().collect();
        names.sort();
        let mut event = Map::new();
        for name in names {
            if skip_filters && name.to_ascii_lowercase().contains("filter") {
                continue;
            }
            fill(&rule.detections[name], upper, &mut event);
        }
        out.push(Value::Object(event));
    }
    out
}

fn input(event: &Value, source: Option<SourceKind>) -> Input<'_> {
    Input {
        event,
        source,
        time_ns: None,
    }
}

#[test]
fn no_rule_that_matches_is_left_out() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let rules = all_rules(&corpus);
    let det = Detector::new(
        &rules,
        Options {
            no_routing: true,
            ..Options::default()
        },
    )
    .expect("detector");
    assert!(det.errors.is_empty(), "{:?}", det.errors);
    let stats = det.prefilter_stats();
    eprintln!("{stats:?}");
    assert_eq!(stats.rules, det.compiled_rules().count());
    assert!(stats.rules > 3700, "{stats:?}");
    // Most rules get a gate; otherwise the prefilter would be pointless.
    assert!(stats.ungated * 10 < stats.rules, "{stats:?}");

    // Recorded events against every rule.
    let events = recorded(&corpus);
    assert!(events.len() > 400, "{} recorded events", events.len());
    let (mut matched, mut missed) = (0, Vec::new());
    for e in &events {
        let check = det.prefilter_check(input(e, None), None);
        matched += check.matched.len();
        missed.extend(check.missed);
    }
    assert!(
        missed.is_empty(),
        "matches the prefilter skipped: {missed:?}"
    );
    assert!(matched > 300, "only {matched} matches on recorded events");

    // Events built from each rule against that rule, and every 25th against every rule.
    let compiled: Vec<&CompiledRule> = det.compiled_rules().collect();
    let (mut own, mut checked, mut missed) = (0, 0, Vec::new());
    for (i, rule) in compiled.iter().enumerate() {
        let Some(id) = rule.id.as_deref() else {
            continue;
        };
        let mut fired = false;
        for (j, e) in witnesses(rule).iter().enumerate() {
            let only = if (i + j) % 25 == 0 { None } else { Some(id) };
            let check = det.prefilter_check(input(e, Some(SourceKind::Generic)), only);
            fired |= check.matched.iter().any(|m| m == id);
            checked += 1;
            missed.extend(check.missed);
        }
        own += usize::from(fired);
    }
    assert!(
        missed.is_empty(),
        "matches the prefilter skipped on rule-built events: {missed:?}"
    );
    eprintln!(
        "{own} of {} rules match an event built from their own values ({checked} events)",
        compiled.len()
    );
    assert!(
        own * 2 > compiled.len(),
        "only {own} of {} rules matched their own events",
        compiled.len()
    );
}

#[test]
fn routed_detection_is_the_same_with_and_without_the_prefilter() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let rules = all_rules(&corpus);
    let with = Detector::new(&rules, Options::default()).expect("detector");
    let without = Detector::new(
        &rules,
        Options {
            no_prefilter: true,
            ..Options::default()
        },
    )
    .expect("detector");
    let mut events = recorded(&corpus);
    for rule in without.compiled_rules().step_by(5) {
        events.extend(witnesses(rule));
    }
    let mut total = 0;
    for e in &events {
        let a = with.evaluate(input(e, None));
        let b = without.evaluate(input(e, None));
        // Selections named by `1 of`/`all of` come in rsigma's hash map order, which differs
        // between two detectors: compared as sets.
        let key = |ms: &[palisade_detect::Match]| {
            ms.iter()
                .map(|m| {
                    let mut sel = m.matched_selections.clone();
                    sel.sort();
                    (m.rule_id.clone(), sel)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&a), key(&b), "{e}");
        total += a.len();
    }
    assert!(total > 300, "only {total} matches");
}

/// The prefilter is derived the same way every time the rules load. `1 of selection_*` names
/// detections in the order of the compiled rule's map, which differs between copies; pruning
/// along the way made some Linux rules' gates (and so the counts below) depend on it.
#[test]
fn the_prefilter_does_not_depend_on_map_order() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut rules = RuleSet::new();
    for dir in ["application/kubernetes", "cloud", "linux"] {
        rules
            .add_path(&corpus.join("sigma/rules").join(dir))
            .expect("rules");
    }
    let stats = || {
        Detector::new(&rules, Options::default())
            .expect("detector")
            .prefilter_stats()
    };
    let first = stats();
    assert!(first.rules > 400, "{first:?}");
    for _ in 0..8 {
        assert_eq!(stats(), first);
    }
}
