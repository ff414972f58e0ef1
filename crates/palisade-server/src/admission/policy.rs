//! Where custom (Rego) policies plug into the webhook, and how they are reloaded.
//!
//! The webhook only knows two small traits: a [`PolicyLoader`] builds a
//! [`PolicyEvaluator`] from files, and names the files to watch. [`Policies`] holds the
//! evaluator in use behind an `Arc` that requests clone; a reload builds a whole new one
//! off to the side and swaps the `Arc`, so requests in flight finish with the set they
//! started with and none is dropped or waits. A reload that fails keeps the old set.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use serde_json::Value;

use super::check::Violation;

/// What custom policies said about one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyFindings {
    pub violations: Vec<Violation>,
    /// Policies that failed to evaluate, each as `rule: file:line:col: message`; the
    /// others' violations are still listed.
    pub errors: Vec<String>,
}

/// Evaluates custom policies against one admitted object. Called from many threads at
/// once.
pub trait PolicyEvaluator: Send + Sync {
    /// Every result of every policy that applies to Kubernetes objects. `object` is the
    /// object as the API server sent it (with its namespace filled in); `json` is the same
    /// as text.
    fn evaluate(&self, object: &Value, json: &str) -> PolicyFindings;
    /// Number of policy rules loaded, for logs.
    fn rule_count(&self) -> usize;
}

/// Builds evaluators from policy files.
pub trait PolicyLoader: Send + Sync {
    /// Reads and compiles every policy; an error says which file and why.
    fn load(&self) -> Result<Arc<dyn PolicyEvaluator>, String>;
    /// Files and folders whose changes call for a reload.
    fn watched(&self) -> Vec<PathBuf>;
}

/// A file's identity for change detection: path, modification time, size.
type Stamp = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// Files under the watched paths with their modification times. Symbolic links are
/// followed: Kubernetes mounts ConfigMaps as links into a folder it swaps on update.
fn stamp(paths: &[PathBuf]) -> Stamp {
    let mut out = Vec::new();
    for root in paths {
        for entry in walkdir::WalkDir::new(root)
            .follow_links(true)
            .max_depth(16)
            .into_iter()
            .flatten()
        {
            if let Ok(meta) = std::fs::metadata(entry.path())
                && meta.is_file()
            {
                out.push((entry.path().to_path_buf(), meta.modified().ok(), meta.len()));
            }
        }
    }
    out.sort();
    out
}

/// What a reload check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    /// Files changed and the new set is in use; how many rules it has.
    Reloaded(usize),
    /// Files changed but did not load; the old set stays in use.
    Failed(String),
}

/// The custom policies in use.
pub struct Policies {
    loader: Option<Arc<dyn PolicyLoader>>,
    current: RwLock<Option<Arc<dyn PolicyEvaluator>>>,
    stamp: Mutex<Stamp>,
    generation: AtomicU64,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies")
            .field("generation", &self.generation())
            .field("loaded", &self.current().is_some())
            .finish()
    }
}

impl Policies {
    /// No custom policies: only the built-in rules run.
    pub fn none() -> Policies {
        Policies {
            loader: None,
            current: RwLock::new(None),
            stamp: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// Loads the policies once; a server must not start with policies it cannot read.
    pub fn load(loader: Arc<dyn PolicyLoader>) -> Result<Policies, String> {
        let before = stamp(&loader.watched());
        let evaluator = loader.load()?;
        Ok(Policies {
            loader: Some(loader),
            current: RwLock::new(Some(evaluator)),
            stamp: Mutex::new(before),
            generation: AtomicU64::new(1),
        })
    }

    /// A fixed evaluator that is never reloaded (tests, embedding).
    pub fn fixed(evaluator: Arc<dyn PolicyEvaluator>) -> Policies {
        Policies {
            loader: None,
            current: RwLock::new(Some(evaluator)),
            stamp: Mutex::new(Vec::new()),
            generation: AtomicU64::new(1),
        }
    }

    /// The evaluator in use, if any.
    pub fn current(&self) -> Option<Arc<dyn PolicyEvaluator>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// How many policy sets have been loaded since start.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Reloads when a watched file changed since the last look. Blocking: call it off the
    /// request path.
    pub fn reload_if_changed(&self) -> Reload {
        let Some(loader) = &self.loader else {
            return Reload::Unchanged;
        };
        let now = stamp(&loader.watched());
        {
            let Ok(mut last) = self.stamp.lock() else {
                return Reload::Unchanged;
            };
            if *last == now {
                return Reload::Unchanged;
            }
            // Remember this state even if it fails to load: a broken file is reported once,
            // and tried again when it changes.
            *last = now;
        }
        match loader.load() {
            Ok(evaluator) => {
                let n = evaluator.rule_count();
                if let Ok(mut cur) = self.current.write() {
                    *cur = Some(evaluator);
                }
                self.generation.fetch_add(1, Ordering::Relaxed);
                Reload::Reloaded(n)
            }
            Err(e) => Reload::Failed(e),
        }
    }
}
