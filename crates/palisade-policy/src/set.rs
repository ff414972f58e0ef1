//! A loaded, compiled set of policies and its evaluation.
//!
//! # Thread safety
//!
//! A regorus [`Engine`] evaluates through `&mut self`, so one engine cannot serve two threads
//! at once. A [`PolicySet`] keeps one compiled, prepared engine as a template and never
//! evaluates with it: each thread evaluates with its own clone, kept in a small thread-local
//! cache keyed by the set's generation (a number no other set shares), so a clone is made
//! once per thread and set, not once per evaluation. Cloning shares the parsed modules and
//! data (reference-counted with regorus' `arc` feature); `docs/decisions/0005-rego-evaluation.md`
//! has the measurements behind this choice.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use palisade_core::{RuleInfo, Severity};
use regorus::Engine;
use regorus::utils::limits::ExecutionTimerConfig;
use serde_json::{Map, Value};

use crate::input::InputKind;
use crate::metadata::{Annotations, RuleKind, RuleOrigin, rule_info, selector_types};
use crate::source::{FileOutline, PolicyProblem, outline};

/// Policy and data files larger than this are refused.
const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// Evaluation engines kept per thread (one per live policy set, usually one).
const ENGINES_PER_THREAD: usize = 4;

/// Where policies and data come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySources {
    /// `.rego` files, or directories searched recursively for them.
    pub policies: Vec<PathBuf>,
    /// JSON or YAML files (or directories of them) merged into `data`.
    pub data: Vec<PathBuf>,
}

/// How policies are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyOptions {
    /// Wall-clock limit for evaluating one rule against one input; a rule that runs longer
    /// is stopped and reported as an evaluation error.
    pub time_limit: Duration,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            time_limit: Duration::from_secs(2),
        }
    }
}

/// Policies or data could not be loaded. Every problem found is listed, each as
/// `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct LoadError {
    pub problems: Vec<PolicyProblem>,
}

impl LoadError {
    fn new(mut problems: Vec<PolicyProblem>) -> LoadError {
        problems.sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
        problems.dedup();
        LoadError { problems }
    }
}

/// Evaluating a policy failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The input text is not JSON.
    #[error("input is not valid JSON: {0}")]
    Input(String),
    /// A rule failed at run time (a built-in error, a conflict, the time limit…).
    #[error("rule {rule_id}: {problem}")]
    Evaluation {
        rule_id: String,
        /// `data.<package>.<rule>`.
        query: String,
        /// The place in the policy, when regorus names one.
        problem: PolicyProblem,
    },
}

/// One policy rule (`deny`, `warn_x`, `violation`… of one package).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRule {
    pub info: RuleInfo,
    /// The package as written: `user.kubernetes.ID001`.
    pub package: String,
    /// The rule's name: `deny_latest`.
    pub name: String,
    pub kind: RuleKind,
    /// File and line of the rule's first definition.
    pub file: String,
    pub line: u32,
    /// Input types it applies to; empty means every input.
    pub selectors: Vec<String>,
    query: String,
}

impl PolicyRule {
    /// Whether the rule looks at inputs of this kind.
    pub fn applies_to(&self, kind: InputKind) -> bool {
        self.selectors.is_empty()
            || self
                .selectors
                .iter()
                .any(|s| InputKind::parse(s) == Some(kind))
    }
}

/// One message a policy produced for an input.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyResult {
    pub rule_id: String,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub kind: RuleKind,
    pub package: String,
    pub rule: String,
    /// The field path the result names (`field` or `path` key), as given.
    pub field: Option<Value>,
    /// A line the result names itself (conftest's `_loc.line`, or `line`).
    pub line: Option<u32>,
    /// The result object's other keys.
    pub details: Map<String, Value>,
}

impl PolicyResult {
    /// The field path as text, when the result names one.
    pub fn field_text(&self) -> Option<String> {
        match self.field.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) => {
                let mut s = String::new();
                for i in items {
                    match i {
                        Value::Number(n) => s.push_str(&format!("[{n}]")),
                        Value::String(k) => {
                            if !s.is_empty() {
                                s.push('.');
                            }
                            s.push_str(k);
                        }
                        _ => {}
                    }
                }
                Some(s)
            }
            _ => None,
        }
    }
}

/// The results and the errors of evaluating every applicable rule against one input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub results: Vec<PolicyResult>,
    pub errors: Vec<PolicyError>,
}

/// A `test_*` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    pub file: String,
    pub line: u32,
    pub package: String,
    pub name: String,
    query: String,
}

/// How a test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestStatus {
    Pass,
    /// The rule was undefined or not `true`.
    Fail,
    /// The rule failed to evaluate.
    Error(String),
    /// A `todo_test_*` rule, not run.
    Skip,
}

/// One test's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    pub case: TestCase,
    pub status: TestStatus,
    pub duration: Duration,
    /// What `print()` wrote while the test ran.
    pub prints: Vec<String>,
}

/// Compiled policies and data, ready to evaluate from any number of threads.
///
/// Cloning is cheap (the compiled state is shared). Build a new set with
/// [`PolicySet::reload`] when files change; sets already handed out keep working.
#[derive(Debug, Clone)]
pub struct PolicySet {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    generation: u64,
    /// Prepared, never evaluated with; cloned per thread.
    engine: Engine,
    rules: Vec<PolicyRule>,
    tests: Vec<TestCase>,
    warnings: Vec<PolicyProblem>,
    sources: PolicySources,
    options: PolicyOptions,
    /// Every file read, for [`PolicySet::is_stale`].
    files: Vec<PathBuf>,
    stamp: u64,
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static ENGINES: RefCell<Vec<(u64, Engine)>> = const { RefCell::new(Vec::new()) };
}

/// One policy file's text, before compiling.
struct PolicyText {
    path: String,
    text: String,
}

impl PolicySet {
    /// Loads every `.rego` file under `sources.policies` and every data file of
    /// `sources.data`, and compiles them. All problems are collected before failing.
    pub fn load(sources: &PolicySources, options: PolicyOptions) -> Result<PolicySet, LoadError> {
        let mut problems = Vec::new();
        let mut files = Vec::new();
        let mut policies = Vec::new();
        for root in &sources.policies {
            let found = discover(root, &["rego"], &mut problems);
            if found.is_empty() && root.is_dir() {
                problems.push(PolicyProblem::new(
                    &display(root),
                    None,
                    None,
                    "no .rego files in this folder",
                ));
            }
            for path in found {
                if let Some(text) = read(&path, &mut problems) {
                    policies.push(PolicyText {
                        path: display(&path),
                        text,
                    });
                }
                files.push(path);
            }
        }
        let mut data = Vec::new();
        for root in &sources.data {
            for path in discover(root, &["json", "yaml", "yml"], &mut problems) {
                // As OPA loads a folder: a file in `sub/dir/` of it lands under `data.sub.dir`.
                let prefix: Vec<String> = path
                    .parent()
                    .and_then(|p| p.strip_prefix(root).ok())
                    .map(|rel| {
                        rel.components()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(text) = read(&path, &mut problems) {
                    data.push((display(&path), text, prefix));
                }
                files.push(path);
            }
        }
        if !problems.is_empty() {
            return Err(LoadError::new(problems));
        }
        let stamp = stamp(&files);
        let mut set = Self::compile(policies, data, options, problems)?;
        let shared = Arc::get_mut(&mut set.shared).expect("not shared yet");
        shared.sources = sources.clone();
        shared.files = files;
        shared.stamp = stamp;
        Ok(set)
    }

    /// Compiles policies and data given as text: `(file name, text)` pairs. Data texts are
    /// JSON or YAML.
    pub fn from_texts(
        policies: &[(&str, &str)],
        data: &[(&str, &str)],
        options: PolicyOptions,
    ) -> Result<PolicySet, LoadError> {
        let policies = policies
            .iter()
            .map(|(p, t)| PolicyText {
                path: p.to_string(),
                text: t.to_string(),
            })
            .collect();
        let data = data
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string(), Vec::new()))
            .collect();
        Self::compile(policies, data, options, Vec::new())
    }

    /// Loads the same sources again (for a server that reloads when files change). The
    /// current set stays valid; callers swap sets when this succeeds.
    pub fn reload(&self) -> Result<PolicySet, LoadError> {
        Self::load(&self.shared.sources, self.shared.options)
    }

    /// Whether the files this set was loaded from changed (modified, added or removed)
    /// since. Cheap enough to call every few seconds: it lists folders and reads file
    /// metadata only.
    pub fn is_stale(&self) -> bool {
        let mut ignored = Vec::new();
        let mut files = Vec::new();
        for root in &self.shared.sources.policies {
            files.extend(discover(root, &["rego"], &mut ignored));
        }
        for root in &self.shared.sources.data {
            files.extend(discover(root, &["json", "yaml", "yml"], &mut ignored));
        }
        files != self.shared.files || stamp(&files) != self.shared.stamp
    }

    /// The sources this set was loaded from (empty for [`PolicySet::from_texts`]).
    pub fn sources(&self) -> &PolicySources {
        &self.shared.sources
    }

    /// The policy and data files the set was loaded from.
    pub fn files(&self) -> &[PathBuf] {
        &self.shared.files
    }

    /// Every policy rule, in file order.
    pub fn rules(&self) -> &[PolicyRule] {
        &self.shared.rules
    }

    /// One description per rule id (rules of a package that share an id share it).
    pub fn rule_infos(&self) -> Vec<RuleInfo> {
        let mut seen = HashSet::new();
        self.shared
            .rules
            .iter()
            .filter(|r| seen.insert(r.info.id.clone()))
            .map(|r| r.info.clone())
            .collect()
    }

    /// The `test_*` rules.
    pub fn tests(&self) -> &[TestCase] {
        &self.shared.tests
    }

    /// Things worth telling the user that did not stop loading (an unknown severity).
    pub fn warnings(&self) -> &[PolicyProblem] {
        &self.shared.warnings
    }

    /// Evaluates every rule that applies to `kind` against the input (JSON text). Fails on
    /// the first rule that cannot be evaluated; [`PolicySet::evaluate_all`] keeps going.
    ///
    /// Safe to call from many threads at once.
    pub fn evaluate(
        &self,
        input_json: &str,
        kind: InputKind,
    ) -> Result<Vec<PolicyResult>, PolicyError> {
        let eval = self.evaluate_all(input_json, kind)?;
        match eval.errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(eval.results),
        }
    }

    /// Evaluates every rule that applies to `kind`; a rule that fails is listed in
    /// [`Evaluation::errors`] and the others still run. Only unreadable input is an error.
    pub fn evaluate_all(
        &self,
        input_json: &str,
        kind: InputKind,
    ) -> Result<Evaluation, PolicyError> {
        let input = parse_input(input_json)?;
        Ok(self.evaluate_filtered(input, kind, &|_| true))
    }

    /// Like [`PolicySet::evaluate_all`] with a parsed JSON value.
    pub fn evaluate_value(&self, input: &Value, kind: InputKind) -> Evaluation {
        match parse_input(&input.to_string()) {
            Ok(v) => self.evaluate_filtered(v, kind, &|_| true),
            Err(e) => Evaluation {
                results: Vec::new(),
                errors: vec![e],
            },
        }
    }

    /// Evaluates with a fresh clone of the compiled engine instead of the thread's cached
    /// one. Only for comparing the two in benchmarks.
    #[doc(hidden)]
    pub fn evaluate_with_fresh_engine(
        &self,
        input_json: &str,
        kind: InputKind,
    ) -> Result<Evaluation, PolicyError> {
        let input = parse_input(input_json)?;
        let mut engine = self.shared.engine.clone();
        Ok(self.run_rules(&mut engine, input, kind, &|_| true).0)
    }

    pub(crate) fn evaluate_filtered(
        &self,
        input: regorus::Value,
        kind: InputKind,
        wanted: &dyn Fn(&PolicyRule) -> bool,
    ) -> Evaluation {
        let generation = self.shared.generation;
        ENGINES.with(|cell| {
            let Ok(mut cache) = cell.try_borrow_mut() else {
                // Re-entered on this thread (an evaluation inside an evaluation): use a
                // clone of its own rather than the one in use.
                let mut engine = self.shared.engine.clone();
                return self.run_rules(&mut engine, input, kind, wanted).0;
            };
            let idx = match cache.iter().position(|(g, _)| *g == generation) {
                Some(i) => i,
                None => {
                    if cache.len() >= ENGINES_PER_THREAD {
                        cache.remove(0);
                    }
                    cache.push((generation, self.shared.engine.clone()));
                    cache.len() - 1
                }
            };
            let (eval, healthy) = self.run_rules(&mut cache[idx].1, input, kind, wanted);
            if !healthy {
                // After a panic inside regorus the engine's state is not to be trusted.
                cache.remove(idx);
            }
            eval
        })
    }

    /// Evaluates the wanted rules with `engine`; the flag is false when regorus panicked.
    fn run_rules(
        &self,
        engine: &mut Engine,
        input: regorus::Value,
        kind: InputKind,
        wanted: &dyn Fn(&PolicyRule) -> bool,
    ) -> (Evaluation, bool) {
        let mut eval = Evaluation::default();
        engine.set_input(input);
        let mut healthy = true;
        for rule in &self.shared.rules {
            if !rule.applies_to(kind) || !wanted(rule) {
                continue;
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| engine.eval_rule(rule.query.clone())));
            match outcome {
                Ok(Ok(value)) => results_of(rule, &value, &mut eval.results),
                Ok(Err(e)) => eval.errors.push(PolicyError::Evaluation {
                    rule_id: rule.info.id.clone(),
                    query: rule.query.clone(),
                    problem: PolicyProblem::from_regorus(&rule.file, &e.to_string()),
                }),
                Err(panic) => {
                    healthy = false;
                    eval.errors.push(PolicyError::Evaluation {
                        rule_id: rule.info.id.clone(),
                        query: rule.query.clone(),
                        problem: PolicyProblem::new(
                            &rule.file,
                            Some(rule.line),
                            None,
                            format!("the Rego engine failed: {}", panic_text(&panic)),
                        ),
                    });
                    break;
                }
            }
        }
        engine.set_input(regorus::Value::new_object());
        (eval, healthy)
    }

    /// Runs every `test_*` rule, each with a fresh engine and no input.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        self.shared
            .tests
            .iter()
            .map(|case| {
                if case.name.starts_with("todo_") {
                    return TestOutcome {
                        case: case.clone(),
                        status: TestStatus::Skip,
                        duration: Duration::ZERO,
                        prints: Vec::new(),
                    };
                }
                let mut engine = self.shared.engine.clone();
                engine.set_gather_prints(true);
                let start = Instant::now();
                let outcome =
                    catch_unwind(AssertUnwindSafe(|| engine.eval_rule(case.query.clone())));
                let duration = start.elapsed();
                let status = match outcome {
                    Ok(Ok(regorus::Value::Bool(true))) => TestStatus::Pass,
                    Ok(Ok(_)) => TestStatus::Fail,
                    Ok(Err(e)) => TestStatus::Error(
                        PolicyProblem::from_regorus(&case.file, &e.to_string()).to_string(),
                    ),
                    Err(p) => {
                        TestStatus::Error(format!("the Rego engine failed: {}", panic_text(&p)))
                    }
                };
                let prints = engine.take_prints().unwrap_or_default();
                TestOutcome {
                    case: case.clone(),
                    status,
                    duration,
                    prints,
                }
            })
            .collect()
    }

    fn compile(
        policies: Vec<PolicyText>,
        data: Vec<(String, String, Vec<String>)>,
        options: PolicyOptions,
        mut problems: Vec<PolicyProblem>,
    ) -> Result<PolicySet, LoadError> {
        let mut engine = Engine::new();
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: options.time_limit,
            check_interval: NonZeroU32::new(64).expect("non-zero"),
        });
        // Trivy's `result.new(msg, cause)`: a result object with the message.
        let result_new = |args: Vec<regorus::Value>| -> anyhow::Result<regorus::Value> {
            let mut obj = BTreeMap::new();
            let msg = args.first().cloned().unwrap_or(regorus::Value::Undefined);
            obj.insert(regorus::Value::from("msg"), msg);
            Ok(regorus::Value::from(obj))
        };
        if let Err(e) = engine.add_extension("result.new".into(), 2, Box::new(result_new)) {
            problems.push(PolicyProblem::new("<builtin>", None, None, e.to_string()));
        }

        let mut outlines: Vec<(String, FileOutline)> = Vec::new();
        for p in policies {
            let o = outline(&p.text);
            if o.package.is_none() {
                problems.push(PolicyProblem::new(
                    &p.path,
                    Some(1),
                    Some(1),
                    "no `package` declaration",
                ));
                continue;
            }
            match add_policy(&mut engine, &p.path, &p.text) {
                Ok(()) => outlines.push((p.path, o)),
                Err(problem) => problems.push(problem),
            }
        }
        for (path, text, prefix) in data {
            if let Err(p) = add_data(&mut engine, &path, &text, &prefix) {
                problems.push(p);
            }
        }
        // Broken annotations are reported with the syntax errors, all in one go.
        for (path, o) in &outlines {
            let blocks = o
                .package_metadata
                .iter()
                .chain(o.rules.iter().filter_map(|r| r.metadata.as_ref()));
            for block in blocks {
                if let Err(p) = Annotations::from_block(path, block) {
                    problems.push(p);
                }
            }
        }
        if !problems.is_empty() {
            return Err(LoadError::new(problems));
        }
        // Prepare the engine (analysis, scheduling) once, so clones start ready; undefined
        // functions and conflicting rules surface here.
        if let Err(e) = add_policy(
            &mut engine,
            "<palisade>",
            "package palisade_internal_ready\n\nready := true\n",
        )
        .map_err(|p| p.to_string())
        .and_then(|()| {
            catch_unwind(AssertUnwindSafe(|| {
                engine.eval_rule("data.palisade_internal_ready.ready".into())
            }))
            .map_err(|p| panic_text(&p))?
            .map(|_| ())
            .map_err(|e| e.to_string())
        }) {
            let fallback = outlines
                .first()
                .map_or("<policies>", |(p, _)| p.as_str())
                .to_string();
            return Err(LoadError::new(vec![PolicyProblem::from_regorus(
                &fallback, &e,
            )]));
        }

        let mut warnings = Vec::new();
        let mut rules: Vec<PolicyRule> = Vec::new();
        let mut tests = Vec::new();
        // Package-level metadata: from `# METADATA` before `package` in any of its files, and
        // from `__rego_metadata__` / `__rego_input__`.
        let mut package_meta: HashMap<String, Annotations> = HashMap::new();
        for (path, o) in &outlines {
            let pkg = o.package.clone().unwrap_or_default();
            if let Some(block) = &o.package_metadata {
                match Annotations::from_block(path, block) {
                    Ok(a) => {
                        let entry = package_meta.entry(pkg.clone()).or_default();
                        *entry = std::mem::take(entry).or(&a);
                    }
                    Err(p) => problems.push(p),
                }
            }
        }
        let mut probe = engine.clone();
        probe.set_input(regorus::Value::new_object());
        for (path, o) in &outlines {
            let pkg = o.package.clone().unwrap_or_default();
            for special in ["__rego_metadata__", "__rego_input__"] {
                if !o.rules.iter().any(|r| r.name == special) {
                    continue;
                }
                let query = format!("data.{pkg}.{special}");
                let value = catch_unwind(AssertUnwindSafe(|| probe.eval_rule(query.clone())));
                let json = match value {
                    Ok(Ok(v)) => to_json(&v),
                    Ok(Err(e)) => {
                        problems.push(PolicyProblem::from_regorus(path, &e.to_string()));
                        continue;
                    }
                    Err(p) => {
                        problems.push(PolicyProblem::new(path, None, None, panic_text(&p)));
                        continue;
                    }
                };
                let found = if special == "__rego_metadata__" {
                    Annotations::from_rego_metadata(&json)
                } else {
                    Annotations {
                        selectors: selector_types(&json),
                        ..Annotations::default()
                    }
                };
                let entry = package_meta.entry(pkg.clone()).or_default();
                *entry = std::mem::take(entry).or(&found);
            }
        }
        // The first definition of each rule, with the first annotation any of its bodies has.
        let mut decls: Vec<(
            &str,
            String,
            &crate::source::RuleDecl,
            Option<&crate::source::MetadataBlock>,
            &str,
        )> = Vec::new();
        for (path, o) in &outlines {
            let pkg = o.package.clone().unwrap_or_default();
            for decl in &o.rules {
                if decl.name.starts_with("test_") || decl.name.starts_with("todo_test_") {
                    if !tests
                        .iter()
                        .any(|t: &TestCase| t.package == pkg && t.name == decl.name)
                    {
                        tests.push(TestCase {
                            file: path.clone(),
                            line: decl.line,
                            package: pkg.clone(),
                            query: format!("data.{pkg}.{}", decl.name),
                            name: decl.name.clone(),
                        });
                    }
                    continue;
                }
                if RuleKind::of(&decl.name).is_none() {
                    continue;
                }
                match decls
                    .iter_mut()
                    .find(|d| d.1 == pkg && d.2.name == decl.name)
                {
                    Some(d) => {
                        if d.3.is_none() {
                            d.3 = decl.metadata.as_ref();
                            d.4 = path;
                        }
                    }
                    None => decls.push((path, pkg.clone(), decl, decl.metadata.as_ref(), path)),
                }
            }
        }
        for (path, pkg, decl, block, block_path) in decls {
            let Some(kind) = RuleKind::of(&decl.name) else {
                continue;
            };
            let own = match block.map(|b| Annotations::from_block(block_path, b)) {
                Some(Ok(a)) => a,
                Some(Err(p)) => {
                    problems.push(p);
                    continue;
                }
                None => Annotations::default(),
            };
            let a = own.or(&package_meta.get(&pkg).cloned().unwrap_or_default());
            let origin = RuleOrigin {
                package: &pkg,
                rule: &decl.name,
                file: path,
                line: decl.line,
                kind,
            };
            let (info, warning) = rule_info(&a, &origin);
            if let Some(w) = warning {
                warnings.push(PolicyProblem::new(path, Some(decl.line), Some(1), w));
            }
            rules.push(PolicyRule {
                info,
                query: format!("data.{pkg}.{}", decl.name),
                package: pkg,
                name: decl.name.clone(),
                kind,
                file: path.to_string(),
                line: decl.line,
                selectors: a.selectors.clone(),
            });
        }
        if !problems.is_empty() {
            return Err(LoadError::new(problems));
        }
        Ok(PolicySet {
            shared: Arc::new(Shared {
                generation: GENERATION.fetch_add(1, Ordering::Relaxed),
                engine,
                rules,
                tests,
                warnings,
                sources: PolicySources::default(),
                options,
                files: Vec::new(),
                stamp: 0,
            }),
        })
    }
}

fn parse_input(json: &str) -> Result<regorus::Value, PolicyError> {
    regorus::Value::from_json_str(json).map_err(|e| PolicyError::Input(e.to_string()))
}

/// Adds a policy, as Rego v1 first and, when that fails, as v0 (the syntax older conftest and
/// Trivy policies use: `deny[msg] { … }`).
fn add_policy(engine: &mut Engine, path: &str, text: &str) -> Result<(), PolicyProblem> {
    let attempt = |engine: &mut Engine, v0: bool| {
        engine.set_rego_v0(v0);
        let r = catch_unwind(AssertUnwindSafe(|| {
            engine.add_policy(path.to_string(), text.to_string())
        }));
        engine.set_rego_v0(false);
        match r {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(PolicyProblem::from_regorus(path, &e.to_string())),
            Err(p) => Err(PolicyProblem::new(path, None, None, panic_text(&p))),
        }
    };
    let v1 = match attempt(engine, false) {
        Ok(()) => return Ok(()),
        Err(p) => p,
    };
    match attempt(engine, true) {
        Ok(()) => Ok(()),
        // Report the error of the syntax the file seems to be written in.
        Err(v0) if looks_v0(text) => Err(v0),
        Err(_) => Err(v1),
    }
}

fn looks_v0(text: &str) -> bool {
    let has_word = |w: &str| {
        text.match_indices(w).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + w.len()..].chars().next();
            let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            !ident(before) && !ident(after)
        })
    };
    !(text.contains("rego.v1") || has_word("if") || has_word("contains"))
}

/// Merges one JSON or YAML data file into `data`.
fn add_data(
    engine: &mut Engine,
    path: &str,
    text: &str,
    prefix: &[String],
) -> Result<(), PolicyProblem> {
    let stream = palisade_yaml::parse_stream(text);
    if let Some(e) = &stream.error {
        let col = match e {
            palisade_yaml::Error::Syntax { col, .. } => Some(*col),
            _ => None,
        };
        let what = if path.ends_with(".json") {
            "JSON"
        } else {
            "YAML"
        };
        return Err(PolicyProblem::new(
            path,
            Some(e.line()),
            col,
            format!("invalid {what}: {e}"),
        ));
    }
    for doc in &stream.documents {
        if doc.root.is_null() {
            continue;
        }
        if doc.root.as_map().is_none() {
            return Err(PolicyProblem::new(
                path,
                Some(doc.root.span.start_line),
                Some(doc.root.span.start_col),
                "a data file must hold a mapping (its keys become `data.<key>`)",
            ));
        }
        let mut value = regorus::Value::from_json_str(&doc.root.to_json())
            .map_err(|e| PolicyProblem::new(path, None, None, e.to_string()))?;
        for key in prefix.iter().rev() {
            let mut obj = BTreeMap::new();
            obj.insert(regorus::Value::from(key.as_str()), value);
            value = regorus::Value::from(obj);
        }
        engine.add_data(value).map_err(|e| {
            PolicyProblem::new(
                path,
                Some(doc.root.span.start_line),
                None,
                format!("cannot merge into data: {e}"),
            )
        })?;
    }
    Ok(())
}

/// Turns what a rule evaluated to into results: a set or array of strings or objects with
/// `msg`, or a single string or object.
fn results_of(rule: &PolicyRule, value: &regorus::Value, out: &mut Vec<PolicyResult>) {
    if matches!(value, regorus::Value::Undefined) {
        return;
    }
    let json = to_json(value);
    let items = match json {
        Value::Array(items) => items,
        Value::Null | Value::Bool(false) => return,
        other => vec![other],
    };
    for item in items {
        let mut result = PolicyResult {
            rule_id: rule.info.id.clone(),
            severity: rule.info.severity,
            title: rule.info.title.clone(),
            message: String::new(),
            kind: rule.kind,
            package: rule.package.clone(),
            rule: rule.name.clone(),
            field: None,
            line: None,
            details: Map::new(),
        };
        match item {
            Value::String(s) => result.message = s,
            Value::Object(mut obj) => {
                result.message = match obj.remove("msg") {
                    Some(Value::String(s)) => s,
                    Some(other) => other.to_string(),
                    None => Value::Object(obj.clone()).to_string(),
                };
                result.field = obj.remove("field").or_else(|| obj.remove("path"));
                if let Some(loc) = obj.remove("_loc") {
                    result.line = loc["line"].as_u64().map(|l| l as u32);
                }
                if let Some(l) = obj.get("line").and_then(Value::as_u64) {
                    result.line = result.line.or(Some(l as u32));
                }
                result.details = obj;
            }
            Value::Bool(true) => result.message = format!("{}.{}", rule.package, rule.name),
            other => result.message = other.to_string(),
        }
        out.push(result);
    }
}

fn to_json(v: &regorus::Value) -> Value {
    if matches!(v, regorus::Value::Undefined) {
        return Value::Null;
    }
    v.to_json_str()
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "internal error".into())
}

fn display(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Files under `root` with one of the extensions (any file named directly), sorted.
fn discover(root: &Path, exts: &[&str], problems: &mut Vec<PolicyProblem>) -> Vec<PathBuf> {
    let meta = match std::fs::metadata(root) {
        Ok(m) => m,
        Err(e) => {
            problems.push(PolicyProblem::new(
                &display(root),
                None,
                None,
                io_message(&e),
            ));
            return Vec::new();
        }
    };
    if !meta.is_dir() {
        return vec![root.to_path_buf()];
    }
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir() && e.file_name().to_string_lossy().starts_with('.'))
        });
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let ext = e.path().extension().and_then(|x| x.to_str()).unwrap_or("");
                if exts.iter().any(|x| x.eq_ignore_ascii_case(ext)) {
                    out.push(e.into_path());
                }
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().map(display).unwrap_or_else(|| display(root));
                problems.push(PolicyProblem::new(&path, None, None, e.to_string()));
            }
        }
    }
    out
}

fn read(path: &Path, problems: &mut Vec<PolicyProblem>) -> Option<String> {
    let shown = display(path);
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_SIZE => {
            problems.push(PolicyProblem::new(
                &shown,
                None,
                None,
                format!("file is over the {} MB limit", MAX_FILE_SIZE / 1_048_576),
            ));
            return None;
        }
        Err(e) => {
            problems.push(PolicyProblem::new(&shown, None, None, io_message(&e)));
            return None;
        }
        Ok(_) => {}
    }
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(mut s) => {
                if s.starts_with('\u{feff}') {
                    s.drain(..3);
                }
                Some(s)
            }
            Err(_) => {
                problems.push(PolicyProblem::new(&shown, None, None, "not UTF-8 text"));
                None
            }
        },
        Err(e) => {
            problems.push(PolicyProblem::new(&shown, None, None, io_message(&e)));
            None
        }
    }
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => format!("cannot read: {e}"),
    }
}

/// A fingerprint of the files' sizes and modification times.
fn stamp(files: &[PathBuf]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        f.hash(&mut h);
        if let Ok(m) = std::fs::metadata(f) {
            m.len().hash(&mut h);
            if let Ok(t) = m.modified() {
                t.hash(&mut h);
            }
        }
    }
    h.finish()
}
