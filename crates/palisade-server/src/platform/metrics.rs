//! Prometheus metrics of `palisade serve`, in the text exposition format (the histogram type
//! is shared with the admission webhook).
//!
//! - `palisade_http_requests_total{route,method,status}`: every request, by the route
//!   pattern it matched (`/api/v1/assets/{id}`, never the raw path, so cardinality stays
//!   bounded) or `unmatched`.
//! - `palisade_http_request_duration_seconds{route}`: latency per route.
//! - `palisade_logins_total{outcome}`: sign-in attempts (`success`, `failure`,
//!   `rate_limited`).
//! - `palisade_reports_ingested_total{format}`, `palisade_findings_ingested_total`.
//! - `palisade_store_errors_total`: database calls that failed (process-wide).
//! - `palisade_events_total{result}`: security events by what became of them: `accepted`
//!   (committed to the event store), `rejected` (refused by the store, e.g. a NUL
//!   character), `dropped` (parsed but not handed to the store: it was busy (429) or failed);
//!   `palisade_events_parse_errors_total`: events stored with `parse_error` set.
//!
//! - `palisade_syslog_*`: the syslog listeners (see `platform::sources`).
//!
//! `/metrics` needs a token (any role) unless `metrics_public = true` in `[server]`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::admission::metrics::{Histogram, label};

static STORE_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Counts a failed database call.
pub fn store_error() {
    STORE_ERRORS.fetch_add(1, Ordering::Relaxed);
}

/// The platform's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, std::sync::Arc<Histogram>>>,
    logins: Mutex<BTreeMap<&'static str, u64>>,
    reports: Mutex<BTreeMap<&'static str, u64>>,
    findings: AtomicU64,
    event_parse_errors: AtomicU64,
    /// The syslog listeners' counters.
    pub syslog: super::sources::Counters,
}

impl Metrics {
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_string(), method.to_string(), status))
                .or_default() += 1;
        }
        let h = self
            .latency
            .lock()
            .ok()
            .map(|mut m| std::sync::Arc::clone(m.entry(route.to_string()).or_default()));
        if let Some(h) = h {
            h.observe(took);
        }
    }

    pub fn login(&self, outcome: &'static str) {
        if let Ok(mut m) = self.logins.lock() {
            *m.entry(outcome).or_default() += 1;
        }
    }

    pub fn report(&self, format: &'static str, findings: usize) {
        if let Ok(mut m) = self.reports.lock() {
            *m.entry(format).or_default() += 1;
        }
        self.findings.fetch_add(findings as u64, Ordering::Relaxed);
    }

    /// Counts events stored with a parse error.
    pub fn event_parse_errors(&self, n: u64) {
        self.event_parse_errors.fetch_add(n, Ordering::Relaxed);
    }

    /// The text exposition, with the event store's counters.
    pub fn render_with_events(&self, events: palisade_siem::store::Counters) -> String {
        let mut out = self.render();
        let _ = writeln!(
            out,
            "# HELP palisade_events_total Security events received, by what became of them.\n# TYPE palisade_events_total counter"
        );
        for (result, n) in [
            ("accepted", events.accepted),
            ("rejected", events.rejected),
            ("dropped", events.dropped),
        ] {
            let _ = writeln!(out, "palisade_events_total{{result=\"{result}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP palisade_events_parse_errors_total Events stored with a parse error (kept raw).\n# TYPE palisade_events_parse_errors_total counter\npalisade_events_parse_errors_total {}",
            self.event_parse_errors.load(Ordering::Relaxed)
        );
        self.syslog.render(&mut out);
        out
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP palisade_http_requests_total HTTP requests by route pattern, method and status.\n# TYPE palisade_http_requests_total counter"
        );
        if let Ok(m) = self.requests.lock() {
            for ((route, method, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "palisade_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    label(route),
                    label(method)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP palisade_http_request_duration_seconds Time to answer, by route pattern.\n# TYPE palisade_http_request_duration_seconds histogram"
        );
        let histograms: Vec<(String, std::sync::Arc<Histogram>)> = self
            .latency
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), std::sync::Arc::clone(v)))
                    .collect()
            })
            .unwrap_or_default();
        for (route, h) in histograms {
            h.render(
                &mut out,
                "palisade_http_request_duration_seconds",
                &format!("route=\"{}\"", label(&route)),
            );
        }
        let _ = writeln!(
            out,
            "# HELP palisade_logins_total Sign-in attempts by outcome.\n# TYPE palisade_logins_total counter"
        );
        if let Ok(m) = self.logins.lock() {
            for (outcome, n) in m.iter() {
                let _ = writeln!(out, "palisade_logins_total{{outcome=\"{outcome}\"}} {n}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP palisade_reports_ingested_total Reports applied to the findings ledger, by format.\n# TYPE palisade_reports_ingested_total counter"
        );
        if let Ok(m) = self.reports.lock() {
            for (format, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "palisade_reports_ingested_total{{format=\"{format}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP palisade_findings_ingested_total Findings in applied reports.\n# TYPE palisade_findings_ingested_total counter\npalisade_findings_ingested_total {}",
            self.findings.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP palisade_store_errors_total Database calls that failed.\n# TYPE palisade_store_errors_total counter\npalisade_store_errors_total {}",
            STORE_ERRORS.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family() {
        let m = Metrics::default();
        m.request("/api/v1/assets/{id}", "GET", 200, Duration::from_millis(3));
        m.login("failure");
        m.report("sarif", 12);
        let t = m.render();
        assert!(t.contains(
            "palisade_http_requests_total{route=\"/api/v1/assets/{id}\",method=\"GET\",status=\"200\"} 1\n"
        ));
        assert!(t.contains(
            "palisade_http_request_duration_seconds_count{route=\"/api/v1/assets/{id}\"} 1\n"
        ));
        assert!(t.contains("palisade_logins_total{outcome=\"failure\"} 1\n"));
        assert!(t.contains("palisade_reports_ingested_total{format=\"sarif\"} 1\n"));
        assert!(t.contains("palisade_findings_ingested_total 12\n"));
        assert!(t.contains("palisade_store_errors_total "));
        m.event_parse_errors(2);
        let t = m.render_with_events(palisade_siem::store::Counters {
            accepted: 5,
            rejected: 1,
            dropped: 0,
        });
        assert!(t.contains("palisade_events_total{result=\"accepted\"} 5\n"));
        assert!(t.contains("palisade_events_total{result=\"rejected\"} 1\n"));
        assert!(t.contains("palisade_events_total{result=\"dropped\"} 0\n"));
        assert!(t.contains("palisade_events_parse_errors_total 2\n"));
    }
}
