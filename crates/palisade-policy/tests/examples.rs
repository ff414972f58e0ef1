//! The example policies shipped in `examples/policies` load, and their own tests pass.

use std::path::PathBuf;

use palisade_policy::{PolicyOptions, PolicySet, PolicySources, TestStatus};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies")
}

#[test]
fn example_policy_tests_pass() {
    let dir = examples();
    let sources = PolicySources {
        policies: vec![dir.clone()],
        data: vec![dir],
    };
    let set = PolicySet::load(&sources, PolicyOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let outcomes = set.run_tests();
    for o in &outcomes {
        println!("{}: {:?} {:?}", o.case.name, o.status, o.prints);
    }
    assert!(outcomes.len() >= 12, "{}", outcomes.len());
    assert!(outcomes.iter().all(|o| o.status == TestStatus::Pass));
    let ids: Vec<&str> = set.rules().iter().map(|r| r.info.id.as_str()).collect();
    assert_eq!(ids, ["ORG-K8S-002", "ORG-K8S-003", "ORG-K8S-001"]);
}
