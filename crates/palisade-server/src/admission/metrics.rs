//! Prometheus metrics, written in the text exposition format by hand (a handful of
//! counters and histograms does not need a metrics crate).
//!
//! - `palisade_admission_requests_total{path,result}`: every request to `/validate` and
//!   `/mutate`, by what came of it (`allowed`, `denied`, `bad_request`, `too_large`,
//!   `timeout`, `error`).
//! - `palisade_admission_decisions_total{rule,mode,action}`: each finding, by rule, the
//!   namespace's mode and what the finding called for (`deny` or `warn`).
//! - `palisade_admission_request_duration_seconds{path}`: latency from the first byte of
//!   the body to the answer.
//! - `palisade_admission_evaluation_seconds{stage}`: time spent in the built-in rules and
//!   in the Rego policies, per request.
//! - `palisade_admission_policy_errors_total`, `palisade_admission_reloads_total{what,result}`,
//!   `palisade_admission_policy_generation`, `palisade_admission_in_flight_requests`,
//!   `palisade_admission_tls_handshake_errors_total`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Observations so far and their total, in seconds.
    pub fn totals(&self) -> (u64, f64) {
        (
            self.count.load(Ordering::Relaxed),
            self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        )
    }

    /// Writes the buckets, sum and count (shared with the platform's metrics).
    pub(crate) fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        let (count, sum) = self.totals();
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// Escapes a label value.
pub(crate) fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The webhook's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    decisions: Mutex<BTreeMap<(String, &'static str, &'static str), u64>>,
    validate_latency: Histogram,
    mutate_latency: Histogram,
    pub builtin_eval: Histogram,
    pub policy_eval: Histogram,
    pub policy_errors: AtomicU64,
    reloads: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    pub policy_generation: AtomicU64,
    pub in_flight: AtomicI64,
    pub tls_errors: AtomicU64,
}

impl Metrics {
    pub fn request(&self, path: &'static str, result: &'static str, took: Duration) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((path, result)).or_default() += 1;
        }
        match path {
            "/mutate" => self.mutate_latency.observe(took),
            _ => self.validate_latency.observe(took),
        }
    }

    pub fn decision(&self, rule: &str, mode: &'static str, action: &'static str) {
        if let Ok(mut m) = self.decisions.lock() {
            *m.entry((rule.to_string(), mode, action)).or_default() += 1;
        }
    }

    pub fn reload(&self, what: &'static str, result: &'static str) {
        if let Ok(mut m) = self.reloads.lock() {
            *m.entry((what, result)).or_default() += 1;
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP palisade_admission_requests_total Admission requests by endpoint and result.\n# TYPE palisade_admission_requests_total counter"
        );
        if let Ok(m) = self.requests.lock() {
            for ((path, result), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "palisade_admission_requests_total{{path=\"{path}\",result=\"{result}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP palisade_admission_decisions_total Findings by rule, namespace mode and the action they called for.\n# TYPE palisade_admission_decisions_total counter"
        );
        if let Ok(m) = self.decisions.lock() {
            for ((rule, mode, action), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "palisade_admission_decisions_total{{rule=\"{}\",mode=\"{mode}\",action=\"{action}\"}} {n}",
                    label(rule)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP palisade_admission_request_duration_seconds Time from reading the request to answering it.\n# TYPE palisade_admission_request_duration_seconds histogram"
        );
        self.validate_latency.render(
            &mut out,
            "palisade_admission_request_duration_seconds",
            "path=\"/validate\"",
        );
        self.mutate_latency.render(
            &mut out,
            "palisade_admission_request_duration_seconds",
            "path=\"/mutate\"",
        );
        let _ = writeln!(
            out,
            "# HELP palisade_admission_evaluation_seconds Time spent per request in built-in rules and in Rego policies.\n# TYPE palisade_admission_evaluation_seconds histogram"
        );
        self.builtin_eval.render(
            &mut out,
            "palisade_admission_evaluation_seconds",
            "stage=\"builtin\"",
        );
        self.policy_eval.render(
            &mut out,
            "palisade_admission_evaluation_seconds",
            "stage=\"policy\"",
        );
        let _ = writeln!(
            out,
            "# HELP palisade_admission_policy_errors_total Policy evaluations that failed.\n# TYPE palisade_admission_policy_errors_total counter\npalisade_admission_policy_errors_total {}",
            self.policy_errors.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP palisade_admission_reloads_total Reloads of policies and certificates after their files changed.\n# TYPE palisade_admission_reloads_total counter"
        );
        if let Ok(m) = self.reloads.lock() {
            for ((what, result), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "palisade_admission_reloads_total{{what=\"{what}\",result=\"{result}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP palisade_admission_policy_generation Number of policy sets loaded since start.\n# TYPE palisade_admission_policy_generation gauge\npalisade_admission_policy_generation {}",
            self.policy_generation.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP palisade_admission_in_flight_requests Requests being answered.\n# TYPE palisade_admission_in_flight_requests gauge\npalisade_admission_in_flight_requests {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP palisade_admission_tls_handshake_errors_total Connections dropped during the TLS handshake.\n# TYPE palisade_admission_tls_handshake_errors_total counter\npalisade_admission_tls_handshake_errors_total {}",
            self.tls_errors.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.request("/validate", "denied", Duration::from_micros(800));
        m.request("/validate", "denied", Duration::from_millis(4));
        m.decision("PAL-K8S-001", "enforce", "deny");
        let text = m.render();
        assert!(text.contains(
            "palisade_admission_requests_total{path=\"/validate\",result=\"denied\"} 2\n"
        ));
        assert!(text.contains("palisade_admission_decisions_total{rule=\"PAL-K8S-001\",mode=\"enforce\",action=\"deny\"} 1\n"));
        assert!(text.contains("palisade_admission_request_duration_seconds_bucket{path=\"/validate\",le=\"0.001\"} 1\n"));
        assert!(text.contains("palisade_admission_request_duration_seconds_bucket{path=\"/validate\",le=\"0.005\"} 2\n"));
        assert!(text.contains(
            "palisade_admission_request_duration_seconds_bucket{path=\"/validate\",le=\"+Inf\"} 2\n"
        ));
        assert!(
            text.contains(
                "palisade_admission_request_duration_seconds_count{path=\"/validate\"} 2\n"
            )
        );
        assert_eq!(label("a\"b"), "a\\\"b");
    }
}
