//! Per-rule suppressions: "don't alert on rule X when these fields have these values", with an
//! optional end time so a suppression cannot silently outlive the reason it was added for.

use rsigma_eval::Event;
use rsigma_eval::event::{EventValue, JsonEvent};
use serde::{Deserialize, Serialize};

/// One suppression. `rule` is a rule id or `*`; every entry of `when` must hold (field → value,
/// `*` matches any run of characters, case-insensitive; a list value means any of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    pub rule: String,
    #[serde(default)]
    pub when: Vec<(String, Vec<String>)>,
    /// Nanoseconds since the epoch after which the suppression no longer applies.
    #[serde(default)]
    pub until: Option<i64>,
    #[serde(default)]
    pub reason: String,
}

impl Suppression {
    /// Whether this suppression silences `rule_id` on `event` at `now_ns`.
    pub fn applies(&self, rule_id: &str, event: &JsonEvent<'_>, now_ns: i64) -> bool {
        if self.rule != "*" && self.rule != rule_id {
            return false;
        }
        if self.until.is_some_and(|u| now_ns > u) {
            return false;
        }
        self.when.iter().all(|(field, patterns)| {
            let Some(v) = event.get_field(field) else {
                return patterns.iter().any(|p| p.is_empty());
            };
            let mut texts = Vec::new();
            collect_text(&v, &mut texts);
            texts
                .iter()
                .any(|t| patterns.iter().any(|p| glob_match(p, t)))
        })
    }

    /// Whether it has expired at `now_ns`.
    pub fn expired(&self, now_ns: i64) -> bool {
        self.until.is_some_and(|u| now_ns > u)
    }
}

fn collect_text(v: &EventValue<'_>, out: &mut Vec<String>) {
    match v {
        EventValue::Str(s) => out.push(s.to_string()),
        EventValue::Int(i) => out.push(i.to_string()),
        EventValue::Float(f) => out.push(f.to_string()),
        EventValue::Bool(b) => out.push(b.to_string()),
        EventValue::Null => out.push(String::new()),
        EventValue::Array(items) => items.iter().for_each(|i| collect_text(i, out)),
        EventValue::Map(_) => {}
    }
}

/// Case-insensitive match where `*` stands for any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "system:serviceaccount:kube-system:*",
            "system:serviceaccount:kube-system:job-controller"
        ));
        assert!(glob_match("*admin*", "Cluster-Admin"));
        assert!(!glob_match("alice", "alice2"));
        assert!(glob_match("", ""));
        assert!(!glob_match("a*b", "acd"));
    }

    #[test]
    fn applies_by_rule_field_and_time() {
        let ev = serde_json::json!({"user": {"username": "system:serviceaccount:ci:deployer"}, "verb": "create"});
        let je = JsonEvent::borrow(&ev);
        let s = Suppression {
            rule: "r1".into(),
            when: vec![(
                "user.username".into(),
                vec!["system:serviceaccount:ci:*".into()],
            )],
            until: Some(100),
            reason: "CI deploys".into(),
        };
        assert!(s.applies("r1", &je, 50));
        assert!(!s.applies("r2", &je, 50));
        assert!(!s.applies("r1", &je, 150), "expired");
        let other = serde_json::json!({"user": {"username": "alice"}});
        assert!(!s.applies("r1", &JsonEvent::borrow(&other), 50));
    }
}
