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

/// The Security log's record of the process a Sysmon event 1 describes: event 4688 with the
/// fields Windows writes (Microsoft's documented 4688 schema), in the same EVTX-to-JSON shape.
fn as_security_4688(sysmon: &Value) -> Option<Value> {
    let data = &sysmon["Event"]["EventData"];
    let text = |k: &str| data[k].as_str().unwrap_or("-").to_owned();
    let hex = |k: &str| match &data[k] {
        Value::Number(n) => format!("{:#x}", n.as_u64().unwrap_or(0)),
        Value::String(s) => format!("{:#x}", s.parse::<u64>().unwrap_or(0)),
        _ => "0x0".to_owned(),
    };
    let user = text("User");
    let (domain, name) = user.split_once('\\').unwrap_or(("-", user.as_str()));
    let label = match data["IntegrityLevel"].as_str()? {
        "Low" => "S-1-16-4096",
        "Medium" => "S-1-16-8192",
        "High" => "S-1-16-12288",
        "System" => "S-1-16-16384",
        _ => "S-1-16-8192",
    };
    Some(serde_json::json!({"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {
                "Name": "Microsoft-Windows-Security-Auditing",
                "Guid": "54849625-5478-4994-A5BA-3E3B0328C30D"}},
            "EventID": 4688, "Version": 2, "Level": 0, "Task": 13312, "Opcode": 0,
            "Keywords": "0x8020000000000000",
            "TimeCreated": sysmon["Event"]["System"]["TimeCreated"].clone(),
            "EventRecordID": 1, "Correlation": null,
            "Execution": {"#attributes": {"ProcessID": 4, "ThreadID": 8}},
            "Channel": "Security",
            "Computer": sysmon["Event"]["System"]["Computer"].clone(),
            "Security": null
        },
        "EventData": {
            "SubjectUserSid": "S-1-5-21-1004336348-1177238915-682003330-1001",
            "SubjectUserName": name, "SubjectDomainName": domain,
            "SubjectLogonId": text("LogonId"),
            "NewProcessId": hex("ProcessId"), "NewProcessName": text("Image"),
            "TokenElevationType": "%%1936", "ProcessId": hex("ParentProcessId"),
            "CommandLine": text("CommandLine"),
            "TargetUserSid": "S-1-0-0", "TargetUserName": "-", "TargetDomainName": "-",
            "TargetLogonId": "0x0", "ParentProcessName": text("ParentImage"),
            "MandatoryLabel": label
        }
    }}))
}

#[test]
fn security_4688_runs_the_process_creation_rules() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let rules = sigmahq(&corpus);
    let det = Detector::new(&rules, Options::default()).expect("detector");
    let cases = corpus.join("sigma/regression_data/rules/windows/process_creation");
    let (mut tried, mut fired) = (0, 0);
    let mut missed = Vec::new();
    for entry in walkdir::WalkDir::new(&cases).sort_by_file_name() {
        let entry = entry.expect("walk");
        if entry.path().extension().is_none_or(|x| x != "json") {
            continue;
        }
        let dir = entry.path().parent().expect("case dir");
        let info = std::fs::read_to_string(dir.join("info.yml")).expect("info.yml");
        let rule_id = info
            .lines()
            .skip_while(|l| !l.starts_with("rule_metadata:"))
            .find_map(|l| l.trim().strip_prefix("- id:"))
            .map(|s| s.trim().to_owned())
            .expect("rule id");
        let events = json_stream(&std::fs::read_to_string(entry.path()).expect("json"));
        let converted: Vec<Value> = events
            .iter()
            .filter(|e| e["Event"]["System"]["EventID"] == 1)
            .filter_map(as_security_4688)
            .collect();
        if converted.is_empty() {
            continue;
        }
        tried += 1;
        let hit = converted.iter().any(|e| {
            det.evaluate(Input {
                event: e,
                source: None,
                time_ns: None,
            })
            .iter()
            .any(|m| m.rule_id == rule_id)
        });
        if hit {
            fired += 1;
        } else {
            missed.push(rule_id);
        }
    }
    // The rest select on what 4688 does not record (OriginalFileName alone, Hashes,
    // CurrentDirectory, the PE metadata).
    eprintln!("4688: {fired} of {tried} process_creation cases fire; not: {missed:?}");
    assert!(tried > 50, "{tried} process_creation cases");
    assert!(
        fired * 10 >= tried * 7,
        "{fired} of {tried} fired: {missed:?}"
    );
    // wmic process recon: its image selection is `Image|endswith` or `OriginalFileName`.
    assert!(
        !missed.contains(&"221b251a-357a-49a9-920a-271802777cc0".to_owned()),
        "{missed:?}"
    );
}
