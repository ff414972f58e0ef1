//! The SigmaHQ rule set from the corpus: every rule loads and compiles, and every rule with
//! regression data fires on its own recorded events (EVTX exported to JSON by SigmaHQ), with
//! logsource routing on. The corpus is found through PALISADE_CORPUS (default
//! ../../../shared/corpus from this crate); without it these tests say so and pass.

mod common;

use std::path::Path;

use palisade_detect::{Detector, Input, Options, RuleSet, SourceKind};
use serde_json::Value;

fn sigmahq(corpus: &Path) -> RuleSet {
    let mut rules = RuleSet::new();
    common::add_sigmahq(&mut rules, corpus);
    rules
}

/// Concatenated pretty-printed JSON objects, as the regression files hold them.
fn json_stream(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|v| v.expect("regression JSON"))
        .collect()
}

#[test]
fn whole_sigmahq_set_loads_and_compiles() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let rules = sigmahq(&corpus);
    assert!(rules.errors.is_empty(), "parse errors: {:#?}", rules.errors);
    assert!(rules.len() > 3000, "only {} rules loaded", rules.len());
    let det = Detector::new(&rules, Options::default()).expect("detector");
    assert!(det.errors.is_empty(), "compile errors: {:#?}", det.errors);
    assert_eq!(det.rule_count(), rules.len());
}

#[test]
fn every_regression_case_fires_with_routing() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let rules = sigmahq(&corpus);
    let sigma = corpus.join("sigma");
    let det = Detector::new(&rules, Options::default()).expect("detector");
    let mut cases = 0;
    let mut failures = Vec::new();
    for entry in walkdir::WalkDir::new(sigma.join("regression_data")).sort_by_file_name() {
        let entry = entry.expect("walk");
        if entry.file_name() != "info.yml" {
            continue;
        }
        let info = std::fs::read_to_string(entry.path()).expect("info.yml");
        // rule_metadata: - id: <uuid>
        let rule_id = info
            .lines()
            .skip_while(|l| !l.starts_with("rule_metadata:"))
            .find_map(|l| l.trim().strip_prefix("- id:"))
            .map(|s| s.trim().to_owned())
            .expect("rule id in info.yml");
        let dir = entry.path().parent().expect("case dir");
        let mut events = Vec::new();
        for f in std::fs::read_dir(dir).expect("case dir") {
            let p = f.expect("entry").path();
            if p.extension().is_some_and(|x| x == "json") {
                events.extend(json_stream(&std::fs::read_to_string(&p).expect("json")));
            }
        }
        if events.is_empty() {
            // One case (Cisco CLI) has only a raw text log and its test commented out in info.yml.
            assert!(
                info.contains("# regression_tests_info"),
                "{}: no events",
                dir.display()
            );
            continue;
        }
        cases += 1;
        let fired = events.iter().any(|e| {
            det.evaluate(Input {
                event: e,
                source: None,
                time_ns: None,
            })
            .iter()
            .any(|m| m.rule_id == rule_id)
        });
        if !fired {
            failures.push(format!("{rule_id} ({})", dir.display()));
        }
        // Recognised as Windows without a hint.
        assert_eq!(SourceKind::recognise(&events[0]), SourceKind::Windows);
    }
    assert_eq!(cases, 202, "regression cases in the corpus");
    assert!(
        failures.is_empty(),
        "rules that did not fire on their own events: {failures:#?}"
    );
}
