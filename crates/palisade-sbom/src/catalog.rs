//! The cataloger contract and the registry of catalogers.
//!
//! A cataloger looks at the files it cares about and returns the packages they record. It
//! never walks a tree, opens an image or decides which layer wins: the artifact layer streams
//! every wanted file of every layer to it, and [`crate::Inventory`] keeps only the results
//! whose file is still present in the final view. That keeps each cataloger a pure function
//! of (path, bytes), easy to test and to fuzz.

use crate::package::Package;

/// What kind of target is being inventoried; catalogers are enabled per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A container image: what is installed counts, not what a lockfile declares.
    Image,
    /// A root filesystem or a project directory: installed packages and lockfiles both count.
    Filesystem,
}

/// What a cataloger is told about a file before deciding whether it wants its contents.
#[derive(Debug, Clone, Copy)]
pub struct FileInfo<'a> {
    /// Path inside the target without a leading `/` (`var/lib/dpkg/status`,
    /// `app/node_modules/express/package.json`).
    pub path: &'a str,
    pub size: u64,
    /// Unix permission bits (`0o755`); 0 when unknown.
    pub mode: u32,
}

impl FileInfo<'_> {
    /// The last path component.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }

    /// Any execute bit set.
    pub fn is_executable(&self) -> bool {
        self.mode & 0o111 != 0
    }
}

/// A file's problem that a cataloger reports: the inventory goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CatalogError {
    /// 1-based line of the problem, when the format has lines.
    pub line: Option<u32>,
    pub message: String,
}

impl CatalogError {
    pub fn new(message: impl Into<String>) -> CatalogError {
        CatalogError {
            line: None,
            message: message.into(),
        }
    }

    pub fn at_line(line: u32, message: impl Into<String>) -> CatalogError {
        CatalogError {
            line: Some(line),
            message: message.into(),
        }
    }
}

/// One cataloger: a reader of one kind of package record.
pub trait Cataloger: Send + Sync {
    /// Stable name, e.g. `dpkg`, `python-installed`, `npm-lock`; shown as `found_by`.
    fn name(&self) -> &'static str;

    /// Target kinds this cataloger runs on.
    fn applies_to(&self, kind: TargetKind) -> bool;

    /// Whether the cataloger wants this file's contents. Called for every file of every
    /// layer, so it must be cheap: look at the path (and size or mode), nothing else.
    fn wants(&self, file: &FileInfo<'_>) -> bool;

    /// Reads the packages a wanted file records. `content` is the whole file (files over
    /// the artifact layer's size limit are skipped with a note before they get here).
    /// Packages carry `path` as their location; the caller adds the layer.
    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError>;
}

/// Every built-in cataloger, in the order they are consulted.
pub fn all() -> Vec<&'static dyn Cataloger> {
    crate::catalogers::ALL.to_vec()
}

/// The built-in catalogers enabled for a target kind, optionally only those named.
pub fn enabled(kind: TargetKind, only: &[String]) -> Vec<&'static dyn Cataloger> {
    all()
        .into_iter()
        .filter(|c| c.applies_to(kind))
        .filter(|c| only.is_empty() || only.iter().any(|n| n == c.name()))
        .collect()
}
