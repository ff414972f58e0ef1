//! Detection on stored events: Sigma rules (the built-in pack and imported sets) run on every
//! event the store acknowledged, on a thread of their own, and their matches become alerts.
//!
//! Events reach the detector after the store's commit, so a match always points at a stored
//! event, and ingest never waits for rules to run: the queue between them is bounded, and
//! when it is full the sources wait (the same push-back as a slow store) instead of events
//! going unexamined. Correlation windows (counts, sequences) are saved to
//! `DATA_DIR/detection-state.json` after batches (at most every few seconds) and at shutdown,
//! and loaded at start, so a restart does not forget that a user already read 15 secrets.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use palisade_detect::rules::parse_level;
use palisade_detect::{
    Detector, Input, Match, Options, Origin, RuleSelection, RuleSet, SourceKind, Suppression,
};
use palisade_siem::Event;
use palisade_siem::store::Receipt;
use palisade_store::{AlertEvent, AlertLevel, NewAlert};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::alerts::AlertSink;

/// Batches of stored events waiting for the detector.
const QUEUE_BATCHES: usize = 64;
/// Bytes of events (raw form, counted twice for the parsed copy) waiting for the detector at
/// most; past it, sources wait.
const QUEUE_BYTES: usize = 256 << 20;
/// Longest entity value put on an alert; longer ones (attacker-controlled names can be
/// anything) are cut rather than making the alert unstorable.
const MAX_ENTITY_BYTES: usize = 256;
/// Least time between two saves of the correlation state.
const SAVE_EVERY: Duration = Duration::from_secs(5);
/// The state file's name in the data directory.
pub const STATE_FILE: &str = "detection-state.json";

/// `[detect]` in the settings file.
#[derive(Debug, Clone, Default)]
pub struct DetectSettings {
    pub enabled: bool,
    pub selection: RuleSelection,
    pub suppressions: Vec<Suppression>,
    /// Extra rule folders to load besides the pack and `DATA_DIR/rules/sigma/*`.
    pub rules: Vec<PathBuf>,
    /// Skip the built-in pack.
    pub no_builtin: bool,
}

impl DetectSettings {
    /// Reads `[detect]` (as TOML); `None` is the default: on, every rule, no suppression.
    pub fn from_toml(value: Option<&toml::Value>) -> Result<DetectSettings, String> {
        let mut s = DetectSettings {
            enabled: true,
            ..DetectSettings::default()
        };
        let Some(value) = value else { return Ok(s) };
        let table = value
            .as_table()
            .ok_or("[detect] must be a table".to_owned())?;
        let strings = |key: &str| -> Result<Vec<String>, String> {
            match table.get(key) {
                None => Ok(Vec::new()),
                Some(toml::Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_owned).ok_or(format!(
                            "[detect] {key}: a list of strings, e.g. [\"tag:attack.t1609\"]"
                        ))
                    })
                    .collect(),
                Some(_) => Err(format!(
                    "[detect] {key}: a list of strings, e.g. [\"tag:attack.t1609\"]"
                )),
            }
        };
        for (key, v) in table {
            match key.as_str() {
                "enabled" => {
                    s.enabled = v
                        .as_bool()
                        .ok_or("[detect] enabled: true or false".to_owned())?
                }
                "builtin" => {
                    s.no_builtin = !v
                        .as_bool()
                        .ok_or("[detect] builtin: true or false".to_owned())?
                }
                "min_level" => {
                    let text = v.as_str().unwrap_or("");
                    s.selection.min_level = Some(parse_level(text).ok_or(format!(
                        "[detect] min_level {text:?}: informational, low, medium, high or critical"
                    ))?);
                }
                "disable" | "enable" | "rules" | "suppress" => {}
                other => {
                    return Err(format!(
                        "[detect] {other}: unknown setting (enabled, builtin, min_level, disable, enable, rules, suppress)"
                    ));
                }
            }
        }
        s.selection.disable = strings("disable")?;
        s.selection.enable = strings("enable")?;
        s.rules = strings("rules")?.into_iter().map(PathBuf::from).collect();
        if let Some(list) = table.get("suppress") {
            let items = list
                .as_array()
                .ok_or("[[detect.suppress]]: a list of tables".to_owned())?;
            for (n, item) in items.iter().enumerate() {
                s.suppressions.push(suppression(n + 1, item)?);
            }
        }
        Ok(s)
    }
}

fn suppression(n: usize, item: &toml::Value) -> Result<Suppression, String> {
    let at = format!("[[detect.suppress]] #{n}");
    let t = item.as_table().ok_or(format!("{at}: a table"))?;
    let rule = t
        .get("rule")
        .and_then(|v| v.as_str())
        .ok_or(format!("{at}: `rule` (a rule id, or \"*\") is required"))?
        .to_owned();
    let reason = t
        .get("reason")
        .and_then(|v| v.as_str())
        .filter(|r| !r.trim().is_empty())
        .ok_or(format!(
            "{at}: `reason` is required: say why the matches are expected"
        ))?
        .to_owned();
    let mut when = Vec::new();
    if let Some(w) = t.get("when") {
        let w = w.as_table().ok_or(format!(
            "{at}: `when` is a table of field = value (or [values])"
        ))?;
        for (field, v) in w {
            let values = match v {
                toml::Value::String(s) => vec![s.clone()],
                toml::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or(format!("{at}: when.{field}: strings only"))?,
                toml::Value::Integer(i) => vec![i.to_string()],
                toml::Value::Boolean(b) => vec![b.to_string()],
                _ => return Err(format!("{at}: when.{field}: a string or a list of strings")),
            };
            when.push((field.clone(), values));
        }
    }
    let until = match t.get("until") {
        None => None,
        Some(toml::Value::Datetime(d)) => Some(datetime_ns(&d.to_string()).ok_or(format!(
            "{at}: until {d}: a date (2026-12-31) or an RFC 3339 time"
        ))?),
        Some(toml::Value::String(s)) => Some(datetime_ns(s).ok_or(format!(
            "{at}: until {s:?}: a date (2026-12-31) or an RFC 3339 time"
        ))?),
        Some(_) => return Err(format!("{at}: until: a date (2026-12-31)")),
    };
    Ok(Suppression {
        rule,
        when,
        until,
        reason,
    })
}

fn datetime_ns(s: &str) -> Option<i64> {
    if let Some(t) = palisade_siem::parse::time::parse_rfc3339(s) {
        return Some(t);
    }
    // A bare date: the end of that day (UTC), so "until = 2026-12-31" includes the 31st.
    let mut parts = s.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = palisade_core::time::days_from_civil(y, m, d);
    Some((days + 1) * 86_400 * 1_000_000_000 - 1)
}

/// Every rule the server runs: the pack (unless turned off), each imported set under
/// `DATA_DIR/rules/sigma/`, and the configured folders; then the selection.
pub fn load_rules(data_dir: &Path, settings: &DetectSettings) -> RuleSet {
    let mut rules = if settings.no_builtin {
        RuleSet::new()
    } else {
        RuleSet::builtin()
    };
    let dir = data_dir.join("rules").join("sigma");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut sets: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        sets.sort();
        // Dot folders are imports in progress.
        for set in sets.into_iter().filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        }) {
            let _ = rules.add_path(&set);
        }
    }
    for p in &settings.rules {
        if let Err(e) = rules.add_path(p) {
            rules.errors.push(palisade_detect::LoadError {
                path: p.display().to_string(),
                message: e.to_string(),
            });
        }
    }
    rules.select(&settings.selection);
    rules
}

/// Counters for /metrics.
#[derive(Debug, Default)]
pub struct DetectCounters {
    pub events: AtomicU64,
    pub matches: AtomicU64,
    pub alerts_not_queued: AtomicU64,
    /// Batches the detector never saw (it had stopped).
    pub not_examined: AtomicU64,
    /// Events whose evaluation failed (a panic inside the rule engine, caught).
    pub failures: AtomicU64,
    pub state_saves_failed: AtomicU64,
}

/// A batch on its way to the detector, holding its share of the queue's byte budget.
struct Queued {
    /// Each with its id in the event store.
    events: Vec<(Event, String)>,
    _permit: OwnedSemaphorePermit,
}

impl DetectCounters {
    /// `palisade_detection_*` in the text exposition format.
    pub fn render(&self, rules: usize, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP palisade_detection_rules Sigma rules and correlations loaded.\n# TYPE palisade_detection_rules gauge\npalisade_detection_rules {rules}"
        );
        for (name, help, v) in [
            (
                "palisade_detection_events_total",
                "Stored events run through the rules.",
                &self.events,
            ),
            (
                "palisade_detection_matches_total",
                "Rule and correlation matches.",
                &self.matches,
            ),
            (
                "palisade_detection_failures_total",
                "Events whose evaluation failed inside the rule engine (skipped).",
                &self.failures,
            ),
            (
                "palisade_detection_batches_not_examined_total",
                "Batches of stored events the detector never saw (it had stopped).",
                &self.not_examined,
            ),
            (
                "palisade_detection_alerts_not_queued_total",
                "Matches that could not be handed to the alert writer (it had stopped).",
                &self.alerts_not_queued,
            ),
            (
                "palisade_detection_state_saves_failed_total",
                "Failed saves of the correlation state.",
                &self.state_saves_failed,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
    }
}

/// The ingest side: hands stored events to the detector thread.
#[derive(Clone)]
pub struct DetectionBus {
    tx: Arc<Mutex<Option<mpsc::Sender<Queued>>>>,
    budget: Arc<Semaphore>,
    worker: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
    pub counters: Arc<DetectCounters>,
    pub rule_count: usize,
}

impl std::fmt::Debug for DetectionBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetectionBus")
            .field("rule_count", &self.rule_count)
            .finish_non_exhaustive()
    }
}

impl DetectionBus {
    /// Detection off: submitted events are not looked at.
    pub fn disabled() -> DetectionBus {
        DetectionBus {
            tx: Arc::new(Mutex::new(None)),
            budget: Arc::new(Semaphore::new(0)),
            worker: Arc::new(Mutex::new(None)),
            counters: Arc::default(),
            rule_count: 0,
        }
    }

    /// Start the detector thread over `rules`, writing matches to `alerts` and keeping the
    /// correlation state in `data_dir`. Problems loading the saved state are logged and the
    /// windows start empty.
    pub fn start(
        rules: &RuleSet,
        suppressions: Vec<Suppression>,
        alerts: AlertSink,
        data_dir: &Path,
        log: impl Fn(&str) + Send + 'static,
    ) -> Result<DetectionBus, String> {
        let mut detector = Detector::new(
            rules,
            Options {
                suppressions,
                // A correlation's alert shows the events it counted, as many as an alert keeps.
                correlation_events: palisade_store::MAX_ALERT_EVENTS,
                ..Options::default()
            },
        )
        .map_err(|e| e.to_string())?;
        for e in rules.errors.iter().chain(detector.errors.iter()) {
            log(&format!("detection: rule not loaded: {e}"));
        }
        let state_path = data_dir.join(STATE_FILE);
        if detector.has_correlations()
            && let Ok(text) = std::fs::read_to_string(&state_path)
            && let Err(e) = detector.import_state(&text)
        {
            log(&format!("detection: {}: {e}", state_path.display()));
        }
        let counters = Arc::new(DetectCounters::default());
        let (tx, rx) = mpsc::channel::<Queued>(QUEUE_BATCHES);
        let rule_count = detector.rule_count();
        let c = Arc::clone(&counters);
        let worker = std::thread::Builder::new()
            .name("palisade-detect".into())
            .spawn(move || run(detector, rx, alerts, state_path, c, log))
            .map_err(|e| format!("cannot start the detection thread: {e}"))?;
        Ok(DetectionBus {
            tx: Arc::new(Mutex::new(Some(tx))),
            budget: Arc::new(Semaphore::new(QUEUE_BYTES >> 10)),
            worker: Arc::new(Mutex::new(Some(worker))),
            counters,
            rule_count,
        })
    }

    /// Queue stored events for detection; waits while the detector is behind. The hand-over
    /// runs on a task of its own, so a caller that goes away meanwhile (a client that hung up)
    /// cannot leave stored events unexamined.
    pub async fn submit(&self, events: &[Event], receipt: &Receipt) {
        let tx = match self.tx.lock() {
            Ok(guard) => guard.clone(),
            Err(_) => None,
        };
        let Some(tx) = tx else { return };
        // The events the store kept, each with its id there, at the time stored (a time far
        // in the future was stored as the receive time: it must not move correlation windows).
        let batch: Vec<(Event, String)> = receipt
            .stored(events)
            .map(|(e, id)| (e, id.to_string()))
            .collect();
        if batch.is_empty() {
            return;
        }
        let kib: usize = batch.iter().map(|(e, _)| e.raw.len() * 2).sum::<usize>() / 1024 + 1;
        let kib = u32::try_from(kib.min(QUEUE_BYTES >> 10)).unwrap_or(u32::MAX);
        let budget = Arc::clone(&self.budget);
        let counters = Arc::clone(&self.counters);
        let handed = tokio::spawn(async move {
            let Ok(permit) = budget.acquire_many_owned(kib).await else {
                return;
            };
            if tx
                .send(Queued {
                    events: batch,
                    _permit: permit,
                })
                .await
                .is_err()
            {
                counters.not_examined.fetch_add(1, Ordering::Relaxed);
            }
        });
        let _ = handed.await;
    }

    /// Stop taking events, let the detector finish what is queued and save its state.
    pub fn close(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = worker {
            let _ = w.join();
        }
    }
}

fn source_of(event: &Event) -> Option<SourceKind> {
    match SourceKind::from_name(&event.kind) {
        Ok(Some(k)) => Some(k),
        _ => SourceKind::from_name(&event.source).ok().flatten(),
    }
}

fn level_of(m: &Match) -> AlertLevel {
    match m.level.unwrap_or("medium") {
        "informational" => AlertLevel::Informational,
        "low" => AlertLevel::Low,
        "high" => AlertLevel::High,
        "critical" => AlertLevel::Critical,
        _ => AlertLevel::Medium,
    }
}

fn run(
    mut detector: Detector,
    mut rx: mpsc::Receiver<Queued>,
    alerts: AlertSink,
    state_path: PathBuf,
    counters: Arc<DetectCounters>,
    log: impl Fn(&str),
) {
    let mut last_save = Instant::now();
    let mut dirty = false;
    while let Some(queued) = rx.blocking_recv() {
        for (event, id) in &queued.events {
            counters.events.fetch_add(1, Ordering::Relaxed);
            let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let input = Input {
                    event: &event.fields,
                    source: source_of(event),
                    time_ns: Some(event.time),
                };
                // The raw text is the event's JSON when the parser said so: kept as is.
                let origin = Origin {
                    source: &event.source,
                    id: Some(id),
                    raw_json: (event.fields_from_raw && !event.truncated)
                        .then_some(event.raw.as_str()),
                };
                detector.process_from(input, Some(origin))
            }));
            let matches = match evaluated {
                Ok(m) => m,
                Err(_) => {
                    if counters.failures.fetch_add(1, Ordering::Relaxed) < 10 {
                        log(&format!(
                            "detection: evaluating an event from {} failed inside the rule engine; it was skipped",
                            event.source
                        ));
                    }
                    continue;
                }
            };
            for m in matches {
                counters.matches.fetch_add(1, Ordering::Relaxed);
                let level = level_of(&m);
                let entities = m
                    .entities
                    .into_iter()
                    .map(|(k, v)| (clip(k), clip(v)))
                    .collect();
                // A correlation's events are the ones it counted (this one last); a rule's, this one.
                let events = if m.events.is_empty() {
                    vec![AlertEvent {
                        event_id: Some(id.clone()),
                        time_ns: event.time,
                        source: event.source.clone(),
                        event: event.fields.clone(),
                    }]
                } else {
                    // The newest, if a rule keeps more than an alert does.
                    let skip = m
                        .events
                        .len()
                        .saturating_sub(palisade_store::MAX_ALERT_EVENTS);
                    m.events
                        .into_iter()
                        .skip(skip)
                        .map(|held| AlertEvent {
                            event_id: held.id,
                            time_ns: held.time_ns.unwrap_or(event.time),
                            source: held.source.unwrap_or_else(|| event.source.clone()),
                            event: held.event,
                        })
                        .collect()
                };
                let alert = NewAlert {
                    level,
                    rule_id: m.rule_id,
                    rule_title: m.rule_title,
                    tags: m.tags,
                    entities,
                    events,
                    time_ns: event.time,
                    correlation: m.kind == palisade_detect::MatchKind::Correlation,
                };
                if alerts.raise_blocking(alert).is_err() {
                    counters.alerts_not_queued.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        dirty |= detector.has_correlations();
        if dirty && last_save.elapsed() >= SAVE_EVERY {
            save(&detector, &state_path, &counters, &log);
            last_save = Instant::now();
            dirty = false;
        }
    }
    if dirty {
        save(&detector, &state_path, &counters, &log);
    }
}

/// An entity value cut to [`MAX_ENTITY_BYTES`] at a character boundary, marked with `…`.
fn clip(mut s: String) -> String {
    if s.len() > MAX_ENTITY_BYTES {
        let mut end = MAX_ENTITY_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

fn save(detector: &Detector, path: &Path, counters: &DetectCounters, log: &impl Fn(&str)) {
    let Some(json) = detector.export_state() else {
        return;
    };
    let tmp = path.with_extension("json.tmp");
    // With PostgreSQL nothing else may have made the data directory yet.
    let result = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|_| {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(json.as_bytes())?;
            f.sync_data()
        })
        .and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        counters.state_saves_failed.fetch_add(1, Ordering::Relaxed);
        log(&format!("detection: cannot save {}: {e}", path.display()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_entities_are_cut_not_refused() {
        let long = "é".repeat(1000);
        let c = clip(long);
        assert!(c.len() <= MAX_ENTITY_BYTES + '…'.len_utf8());
        assert!(c.ends_with('…'));
        assert_eq!(clip("alice".into()), "alice");
    }

    #[test]
    fn settings_parse_and_errors() {
        let v: toml::Value = toml::from_str(
            r#"
            min_level = "medium"
            disable = ["tag:attack.t1609", "level:low"]
            [[suppress]]
            rule = "f1a2"
            when = { "user.username" = "system:serviceaccount:ci:*", "objectRef.namespace" = ["ci", "build"] }
            until = 2026-12-31
            reason = "CI deploys"
            "#,
        )
        .unwrap();
        let s = DetectSettings::from_toml(Some(&v)).unwrap();
        assert!(s.enabled);
        assert_eq!(s.selection.disable.len(), 2);
        assert_eq!(s.suppressions.len(), 1);
        let until = s.suppressions[0].until.unwrap();
        assert_eq!(
            palisade_siem::parse::time::format_rfc3339(until).get(..10),
            Some("2026-12-31")
        );

        for (bad, says) in [
            ("min_level = \"loud\"", "min_level"),
            ("colour = 1", "unknown setting"),
            ("[[suppress]]\nrule = \"x\"", "reason"),
            ("[[suppress]]\nreason = \"r\"", "rule"),
            (
                "[[suppress]]\nrule = \"x\"\nreason = \"r\"\nuntil = \"soon\"",
                "until",
            ),
        ] {
            let v: toml::Value = toml::from_str(bad).unwrap();
            let e = DetectSettings::from_toml(Some(&v)).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
