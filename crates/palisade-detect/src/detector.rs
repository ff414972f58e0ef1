//! The detector: compiled rules grouped by log source, correlations and suppressions.
//!
//! Rules are grouped by their `logsource` (product, service, category) and each group gets its
//! own rsigma [`Engine`] with its own candidate index. An event is evaluated only by the groups
//! its source is compatible with (a rule without a category runs on every category of its
//! product; a rule for `windows` never sees a Kubernetes audit event). Which groups an event's
//! log source reaches is computed once per distinct log source and cached.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};

use rsigma_eval::event::JsonEvent;
use rsigma_eval::{
    CorrelationConfig, CorrelationEngine, CorrelationEventMode, CorrelationSnapshot, Engine,
    EvaluationResult, Pipeline, ResultBody, TimestampFallback,
};
use rsigma_parser::{LogSource, SigmaCollection};
use serde::Serialize;
use serde_json::Value;

use crate::Error;
use crate::event::{FastEvent, has_dotted_key};
use crate::held::{Held, HeldEvent, HeldStore, Origin};
use crate::prefilter::{Prefilter, PrefilterStats};
use crate::rules::{LoadError, RuleSet};
use crate::shape::{self, Scan, SourceKind};
use crate::suppress::Suppression;

/// One event to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The event as parsed (for Windows, the EVTX-JSON shape or already flat).
    pub event: &'a Value,
    /// Its source, when known; `None` recognises it from its fields.
    pub source: Option<SourceKind>,
    /// When it happened (ns since the epoch); correlations count time by it.
    pub time_ns: Option<i64>,
}

/// Detection (one event matched one rule) or correlation (a correlation rule's condition held).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    Detection,
    Correlation,
}

/// A rule that fired.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    #[serde(rename = "type")]
    pub kind: MatchKind,
    pub rule_id: String,
    pub rule_title: String,
    pub level: Option<&'static str>,
    pub tags: Vec<String>,
    /// The event's source.
    pub source: &'static str,
    /// Detection: the selections that matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched_selections: Vec<String>,
    /// Correlation: its type (`event_count`, `value_count`, `temporal`, …), group and value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timespan_secs: Option<u64>,
    /// Correlation: the newest events it counted in its window, oldest first, up to
    /// [`Options::correlation_events`] (the one that completed it last). Empty when that is 0.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<HeldEvent>,
    /// Who and what the event is about (user, namespace, pod, source_ip, …); for correlations,
    /// the group-by values too.
    pub entities: BTreeMap<String, String>,
}

struct Group {
    logsource: LogSource,
    engine: Engine,
    /// Built from `engine.rules()` once filters are applied; `None` with `no_prefilter`.
    prefilter: Option<Prefilter>,
    /// Bits of `engine.rules()` whose matches are never reported (disabled, or feeding a
    /// correlation that does not generate): stateless evaluation skips them.
    quiet: Vec<u64>,
}

/// What [`Detector::prefilter_check`] found: rule ids (or titles) that matched, and those of
/// them the prefilter would not have evaluated.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct PrefilterCheck {
    pub matched: Vec<String>,
    pub missed: Vec<String>,
}

/// Options for [`Detector::new`].
#[derive(Default)]
pub struct Options {
    /// Extra pipelines applied after the shipped ones.
    pub pipelines: Vec<Pipeline>,
    /// Don't apply the shipped per-source pipelines.
    pub no_builtin_pipelines: bool,
    /// Evaluate every rule on every event (no logsource routing).
    pub no_routing: bool,
    /// Evaluate with rsigma's own candidate index instead of Palisade's prefilter (for
    /// comparisons; the results are the same).
    pub no_prefilter: bool,
    pub suppressions: Vec<Suppression>,
    /// Events each correlation window keeps (the newest ones) for its alert; 0 keeps none.
    /// Kept events are held once, however many windows count them, up to
    /// [`crate::held::MAX_HELD_BYTES`] in all.
    pub correlation_events: usize,
}

/// Compiled rules ready to evaluate events.
pub struct Detector {
    groups: Vec<Group>,
    routes: RwLock<HashMap<String, Arc<[usize]>>>,
    /// Routes of the source kinds whose log source does not depend on the event.
    kind_routes: [OnceLock<Arc<[usize]>>; SourceKind::ALL.len()],
    correlation: Option<CorrelationEngine>,
    /// The events correlations keep references to (see [`crate::held`]).
    held: HeldStore,
    /// [`Options::correlation_events`] is not 0.
    keep_events: bool,
    /// Per correlation and group, the newest kept event it reported (see [`Detector::finish`]).
    reported: HashMap<String, u64>,
    silenced: HashSet<String>,
    suppressions: Vec<Suppression>,
    no_routing: bool,
    rules: usize,
    /// Rules that failed to compile.
    pub errors: Vec<LoadError>,
}

fn ls_key(ls: &LogSource) -> (String, String, String) {
    let low = |s: &Option<String>| s.as_deref().unwrap_or("").to_ascii_lowercase();
    (low(&ls.product), low(&ls.service), low(&ls.category))
}

fn compatible(rule: &LogSource, event: &LogSource) -> bool {
    let ok = |r: &Option<String>, e: &Option<String>| match r {
        None => true,
        Some(r) => e.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(r)),
    };
    ok(&rule.product, &event.product)
        && ok(&rule.service, &event.service)
        && ok(&rule.category, &event.category)
}

impl Detector {
    /// Compile `rules`. Rules that fail to compile are listed in [`Detector::errors`] and the
    /// rest run.
    pub fn new(rules: &RuleSet, options: Options) -> Result<Detector, Error> {
        let mut pipelines = if options.no_builtin_pipelines {
            Vec::new()
        } else {
            crate::pipelines::builtin()?
        };
        pipelines.extend(options.pipelines);
        let mut errors = Vec::new();

        // Group rules by logsource.
        let mut by_ls: BTreeMap<(String, String, String), (LogSource, Vec<usize>)> =
            BTreeMap::new();
        for (i, rule) in rules.collection.rules.iter().enumerate() {
            let key = if options.no_routing {
                Default::default()
            } else {
                ls_key(&rule.logsource)
            };
            by_ls
                .entry(key)
                .or_insert_with(|| {
                    let mut ls = rule.logsource.clone();
                    ls.custom.clear();
                    ls.definition = None;
                    if options.no_routing {
                        ls = LogSource::default();
                    }
                    (ls, Vec::new())
                })
                .1
                .push(i);
        }
        let mut groups = Vec::with_capacity(by_ls.len());
        let mut compiled = 0;
        for (_, (logsource, idxs)) in by_ls {
            let mut engine = Engine::new();
            for p in &pipelines {
                engine.add_pipeline(p.clone());
            }
            let members: Vec<_> = idxs.iter().map(|&i| &rules.collection.rules[i]).collect();
            let failed = engine.add_rules(members.iter().copied());
            for (n, e) in &failed {
                let rule = members[*n];
                let id = rule.id.clone().unwrap_or_default();
                errors.push(LoadError {
                    path: rules.origins.get(&id).cloned().unwrap_or_default(),
                    message: format!("rule {id} ({}): {e}", rule.title),
                });
            }
            compiled += members.len() - failed.len();
            groups.push(Group {
                logsource,
                engine,
                prefilter: None,
                quiet: Vec::new(),
            });
        }
        // Filters apply to the rules they name, wherever they are.
        for filter in &rules.collection.filters {
            for g in &mut groups {
                let _ = g.engine.apply_filter(filter);
            }
        }
        if !options.no_prefilter {
            for g in &mut groups {
                g.prefilter = Some(Prefilter::new(g.engine.rules()));
            }
        }

        let correlation = if rules.collection.correlations.is_empty() {
            None
        } else {
            let config = CorrelationConfig {
                timestamp_fallback: TimestampFallback::WallClock,
                max_state_entries: 200_000,
                max_group_entries: Some(10_000),
                correlation_event_mode: if options.correlation_events > 0 {
                    CorrelationEventMode::Refs
                } else {
                    CorrelationEventMode::None
                },
                max_correlation_events: options.correlation_events.max(1),
                ..CorrelationConfig::default()
            };
            let mut ce = CorrelationEngine::new(config);
            for p in &pipelines {
                ce.add_pipeline(p.clone());
            }
            // Only the rules correlations refer to are needed for the engine to resolve them.
            let refs: HashSet<&str> = rules
                .collection
                .correlations
                .iter()
                .flat_map(|c| c.rules.iter().map(String::as_str))
                .collect();
            let mut sub = SigmaCollection::new();
            sub.rules = rules
                .collection
                .rules
                .iter()
                .filter(|r| {
                    r.id.as_deref().is_some_and(|i| refs.contains(i))
                        || r.name.as_deref().is_some_and(|n| refs.contains(n))
                })
                .cloned()
                .collect();
            for r in &sub.rules {
                if let Err(e) = ce.add_rule(r) {
                    errors.push(LoadError {
                        path: rules
                            .origins
                            .get(r.id.as_deref().unwrap_or(""))
                            .cloned()
                            .unwrap_or_default(),
                        message: format!("rule {} in a correlation: {e}", r.title),
                    });
                }
            }
            // Correlations fed by other correlations keep no events: their direct inputs are
            // often a rule matching most traffic ("request allowed" after a burst of
            // denials), which would fill the ring and the alert with routine events.
            let correlation_names: HashSet<&str> = rules
                .collection
                .correlations
                .iter()
                .flat_map(|c| c.id.iter().chain(c.name.iter()).map(String::as_str))
                .collect();
            for c in &rules.collection.correlations {
                let id = c.id.clone().unwrap_or_default();
                let mut c = Cow::Borrowed(c);
                if options.correlation_events > 0 {
                    // Kept events work through references only (see `crate::held`).
                    let chained = c
                        .rules
                        .iter()
                        .any(|r| correlation_names.contains(r.as_str()));
                    let mode = if chained { "none" } else { "refs" };
                    if let Ok(v) = serde::Deserialize::deserialize(Value::from(mode)) {
                        c.to_mut()
                            .custom_attributes
                            .insert("rsigma.correlation_event_mode".to_owned(), v);
                    }
                }
                match ce.add_correlation(&c) {
                    Ok(()) => compiled += 1,
                    Err(e) => errors.push(LoadError {
                        path: rules.origins.get(&id).cloned().unwrap_or_default(),
                        message: format!("correlation {id} ({}): {e}", c.title),
                    }),
                }
            }
            Some(ce)
        };

        // Sigma's `generate: false` (the default): the rules (and correlations) a correlation
        // refers to feed it but raise no matches of their own.
        let mut silenced = rules.silenced.clone();
        let quiet: HashSet<&str> = rules
            .collection
            .correlations
            .iter()
            .filter(|c| !c.generate)
            .flat_map(|c| c.rules.iter().map(String::as_str))
            .collect();
        let referenced = |id: &Option<String>, name: &Option<String>| {
            id.as_deref().is_some_and(|i| quiet.contains(i))
                || name.as_deref().is_some_and(|n| quiet.contains(n))
        };
        for r in &rules.collection.rules {
            if referenced(&r.id, &r.name) {
                silenced.extend(r.id.clone());
            }
        }
        for c in &rules.collection.correlations {
            if referenced(&c.id, &c.name) {
                silenced.extend(c.id.clone());
            }
        }

        for g in &mut groups {
            let rules = g.engine.rules();
            g.quiet = vec![0; rules.len().div_ceil(64)];
            for (i, r) in rules.iter().enumerate() {
                if r.id.as_ref().is_some_and(|id| silenced.contains(id)) {
                    g.quiet[i / 64] |= 1 << (i % 64);
                }
            }
        }

        Ok(Detector {
            groups,
            routes: RwLock::new(HashMap::new()),
            kind_routes: Default::default(),
            correlation,
            held: HeldStore::default(),
            keep_events: options.correlation_events > 0,
            reported: HashMap::new(),
            silenced,
            suppressions: options.suppressions,
            no_routing: options.no_routing,
            rules: compiled,
            errors,
        })
    }

    /// Rules and correlations compiled.
    pub fn rule_count(&self) -> usize {
        self.rules
    }

    /// Whether any correlation is loaded (then [`Detector::process`] keeps state).
    pub fn has_correlations(&self) -> bool {
        self.correlation.is_some()
    }

    /// The groups an event of `kind` goes to; computed once per kind where the kind alone
    /// decides the log source.
    fn route_event(&self, kind: SourceKind, event: &Value) -> Arc<[usize]> {
        if kind.logsource_varies() {
            return self.route(&kind.logsources(event));
        }
        self.kind_routes[kind.index()]
            .get_or_init(|| self.route(&kind.logsources(event)))
            .clone()
    }

    fn route(&self, logsources: &[LogSource]) -> Arc<[usize]> {
        if self.no_routing {
            return (0..self.groups.len()).collect();
        }
        let mut key = String::new();
        for ls in logsources {
            let (p, s, c) = ls_key(ls);
            key.push_str(&p);
            key.push('|');
            key.push_str(&s);
            key.push('|');
            key.push_str(&c);
            key.push(';');
        }
        if let Ok(routes) = self.routes.read()
            && let Some(r) = routes.get(&key)
        {
            return r.clone();
        }
        let chosen: Arc<[usize]> = self
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| logsources.iter().any(|ls| compatible(&g.logsource, ls)))
            .map(|(i, _)| i)
            .collect();
        if let Ok(mut routes) = self.routes.write()
            && routes.len() < 4096
        {
            routes.insert(key, chosen.clone());
        }
        chosen
    }

    /// Matches of the routed groups' rules; `stateless` skips the rules whose matches are
    /// never reported (they only feed correlations).
    fn detections(
        &self,
        kind: SourceKind,
        je: &FastEvent<'_>,
        stateless: bool,
    ) -> Vec<EvaluationResult> {
        let mut out = Vec::new();
        for &g in self.route_event(kind, je.root()).iter() {
            let group = &self.groups[g];
            let skip: &[u64] = if stateless { &group.quiet } else { &[] };
            match &group.prefilter {
                Some(p) => p.evaluate(group.engine.rules(), je, skip, &mut out),
                None => out.extend(group.engine.evaluate(je)),
            }
        }
        out
    }

    /// What the prefilter made of the rules, summed over the groups.
    pub fn prefilter_stats(&self) -> PrefilterStats {
        let mut total = PrefilterStats::default();
        for g in &self.groups {
            if let Some(p) = &g.prefilter {
                let s = p.stats(g.engine.rules());
                total.rules += s.rules;
                total.ungated += s.ungated;
                total.never += s.never;
                total.fields += s.fields;
                total.needles += s.needles;
                total.clauses += s.clauses;
            }
        }
        total
    }

    /// Check the prefilter on one event: every rule in the groups `input` is routed to (or
    /// only the rule with id `only`) is evaluated directly, and those that match are listed
    /// with those the prefilter would have skipped. `missed` is always empty unless the
    /// prefilter's analysis is wrong; the differential tests call this on every event they
    /// have.
    #[doc(hidden)]
    pub fn prefilter_check(&self, input: Input<'_>, only: Option<&str>) -> PrefilterCheck {
        let (kind, shaped, dotted) = prepare(&input);
        let je = FastEvent::with_dotted_keys(&shaped, dotted);
        let mut check = PrefilterCheck::default();
        for &g in self.route_event(kind, &shaped).iter() {
            let group = &self.groups[g];
            if let Some(p) = &group.prefilter {
                let (matched, missed) = p.check(group.engine.rules(), &je, only);
                check.matched.extend(matched);
                check.missed.extend(missed);
            }
        }
        check
    }

    /// The compiled rules (after pipelines and filters), for tests that build events from them.
    #[doc(hidden)]
    pub fn compiled_rules(&self) -> impl Iterator<Item = &rsigma_eval::CompiledRule> {
        self.groups.iter().flat_map(|g| g.engine.rules())
    }

    /// Evaluate one event against the detection rules (no correlation state).
    pub fn evaluate(&self, input: Input<'_>) -> Vec<Match> {
        let (kind, shaped, dotted) = prepare(&input);
        let je = FastEvent::with_dotted_keys(&shaped, dotted);
        let results = self.detections(kind, &je, true);
        self.finish(kind, &shaped, results, None)
    }

    /// Evaluate one event against the rules and feed the correlations.
    pub fn process(&mut self, input: Input<'_>) -> Vec<Match> {
        self.process_from(input, None)
    }

    /// [`Detector::process`], naming where the event came from (a configured source): the
    /// events a correlation keeps for its alert carry it.
    pub fn process_from(&mut self, input: Input<'_>, origin: Option<Origin<'_>>) -> Vec<Match> {
        let (kind, shaped, dotted) = prepare(&input);
        let je = FastEvent::with_dotted_keys(&shaped, dotted);
        let mut results = self.detections(kind, &je, false);
        if let Some(ce) = self.correlation.as_mut() {
            let secs = input.time_ns.map(|ns| ns.div_euclid(1_000_000_000));
            if self.keep_events {
                let held = Held {
                    view: &je,
                    seq: self.held.take_seq(),
                    kept: std::cell::Cell::new(false),
                };
                results = match secs {
                    Some(s) => ce.process_with_detections(&held, results, s),
                    None => ce.correlate_detections(&held, results),
                };
                if held.kept.get() {
                    self.held.keep(held.seq, input.event, input.time_ns, origin);
                }
            } else {
                results = match secs {
                    Some(s) => ce.process_with_detections(&je, results, s),
                    None => ce.correlate_detections(&je, results),
                };
            }
        }
        let mut reported = std::mem::take(&mut self.reported);
        let out = self.finish(kind, &shaped, results, Some(&mut reported));
        self.reported = reported;
        out
    }

    /// Matches of `results`; `reported` (when correlations keep events) says which kept
    /// events each correlation and group already reported, so that a correlation firing again
    /// carries only the events counted since.
    fn finish(
        &self,
        kind: SourceKind,
        event: &Value,
        results: Vec<EvaluationResult>,
        mut reported: Option<&mut HashMap<String, u64>>,
    ) -> Vec<Match> {
        let silenced = |r: &EvaluationResult| {
            r.header
                .rule_id
                .as_ref()
                .is_some_and(|id| self.silenced.contains(id))
        };
        if results.iter().all(silenced) {
            return Vec::new();
        }
        // Suppressions expire by the clock, not by the event's own time, which a sender can
        // backdate.
        let now = palisade_core::time::now_secs().saturating_mul(1_000_000_000);
        let je = JsonEvent::borrow(event);
        let entities = shape::entities(kind, event);
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            if silenced(&r) {
                continue;
            }
            let id = r.header.rule_id.clone().unwrap_or_default();
            if self.suppressions.iter().any(|s| s.applies(&id, &je, now)) {
                continue;
            }
            let mut m = Match {
                kind: MatchKind::Detection,
                rule_id: id,
                rule_title: r.header.rule_title.clone(),
                level: r.header.level.map(|l| l.as_str()),
                tags: r.header.tags.clone(),
                source: kind.as_str(),
                matched_selections: Vec::new(),
                correlation_type: None,
                group: Vec::new(),
                value: None,
                timespan_secs: None,
                events: Vec::new(),
                entities: entities.clone(),
            };
            match r.body {
                ResultBody::Detection(d) => m.matched_selections = d.matched_selections,
                ResultBody::Correlation(c) => {
                    m.kind = MatchKind::Correlation;
                    m.correlation_type = Some(
                        serde_json::to_value(c.correlation_type)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                    );
                    for (k, v) in &c.group_key {
                        m.entities.insert(k.clone(), v.clone());
                    }
                    m.group = c.group_key;
                    m.value = Some(c.aggregated_value);
                    m.timespan_secs = Some(c.timespan_secs);
                    let seqs: Vec<u64> = c
                        .event_refs
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|r| r.id.as_deref()?.parse().ok())
                        .collect();
                    if let (Some(reported), Some(&newest)) =
                        (reported.as_deref_mut(), seqs.iter().max())
                    {
                        let key = reported_key(&m.rule_id, &m.group);
                        let since = reported.get(&key).copied();
                        m.events = seqs
                            .iter()
                            .filter(|&&s| since.is_none_or(|l| s > l))
                            .filter_map(|&s| self.held.get(s))
                            .collect();
                        if reported.len() >= MAX_REPORTED && !reported.contains_key(&key) {
                            // Many groups: forget them all (at worst one firing each repeats
                            // events it reported).
                            reported.clear();
                        }
                        reported.insert(key, newest);
                    }
                }
            }
            out.push(m);
        }
        out
    }

    /// The correlation state (open windows, last alerts) as JSON, to save across restarts.
    pub fn export_state(&self) -> Option<String> {
        let ce = self.correlation.as_ref()?;
        let engine = ce.export_state();
        let held = self.held.referenced_by(&engine);
        let reported = self.reported.clone();
        serde_json::to_string(&SavedState {
            engine,
            held,
            reported,
        })
        .ok()
    }

    /// Restore state saved by [`Detector::export_state`]. Windows of correlations no longer
    /// loaded are dropped.
    pub fn import_state(&mut self, json: &str) -> Result<(), Error> {
        let Some(ce) = self.correlation.as_mut() else {
            return Ok(());
        };
        // The engine's snapshot alone is what builds before the kept events saved.
        let saved: SavedState = match serde_json::from_str(json) {
            Ok(s) => s,
            Err(first) => SavedState {
                engine: serde_json::from_str::<CorrelationSnapshot>(json)
                    .map_err(|_| Error::State(first.to_string()))?,
                held: HeldStore::default(),
                reported: HashMap::new(),
            },
        };
        if ce.import_state(saved.engine) {
            self.held = saved.held.restored();
            let next = self.held.peek_next();
            self.reported = saved.reported;
            self.reported.retain(|_, seq| *seq < next);
            if self.reported.len() > MAX_REPORTED {
                self.reported.clear();
            }
            Ok(())
        } else {
            Err(Error::State(
                "the saved state is from an incompatible version; correlation windows start empty"
                    .to_owned(),
            ))
        }
    }

    /// Open correlation windows.
    pub fn state_count(&self) -> usize {
        self.correlation.as_ref().map_or(0, |c| c.state_count())
    }
}

/// What [`Detector::export_state`] saves: the correlation engine's windows, the events they
/// keep references to and what each correlation reported of them.
#[derive(Serialize, serde::Deserialize)]
struct SavedState {
    engine: CorrelationSnapshot,
    held: HeldStore,
    #[serde(default)]
    reported: HashMap<String, u64>,
}

/// Correlation-and-group keys [`Detector::finish`] remembers at most.
const MAX_REPORTED: usize = 65_536;

fn reported_key(rule_id: &str, group: &[(String, String)]) -> String {
    let mut key = rule_id.to_owned();
    for (k, v) in group {
        key.push('\0');
        key.push_str(k);
        key.push('\0');
        key.push_str(v);
    }
    key
}

/// An input's source kind, its shape for the rules, and whether a top-level key of that shape
/// holds a dot, from one pass over its keys when the kind must be recognised.
fn prepare<'e>(input: &Input<'e>) -> (SourceKind, Cow<'e, Value>, bool) {
    let scan = match input.source {
        Some(kind) => Scan {
            kind,
            dotted_keys: has_dotted_key(input.event),
        },
        None => Scan::of(input.event),
    };
    let shaped = shape::shape(scan.kind, input.event);
    let dotted = match &shaped {
        Cow::Borrowed(_) => scan.dotted_keys,
        Cow::Owned(v) => has_dotted_key(v),
    };
    (scan.kind, shaped, dotted)
}
