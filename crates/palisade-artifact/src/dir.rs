//! Directories: a project checkout or an extracted root filesystem, read as one layer.
//!
//! Symbolic links are recorded, never followed: a link may point anywhere on the machine,
//! and what it points to is not part of the target.

use std::io::Read;
use std::path::Path;

use palisade_core::{InputProblem, ProblemKind};

use crate::fs::{EntryKind, LayeredFs};
use crate::layer::Limits;
use crate::{ArtifactError, FileMeta, Kind, Visitor, Walked};

/// Folders never worth reading for inventories or secrets.
fn skip_dir(name: &str) -> bool {
    matches!(name, ".git" | ".hg" | ".svn")
}

/// Walks a directory.
pub fn walk(
    root: &Path,
    limits: &Limits,
    visitor: &mut dyn Visitor,
) -> Result<Walked, ArtifactError> {
    let name = root.display().to_string();
    let meta = std::fs::metadata(root).map_err(|e| ArtifactError::Io {
        target: name.clone(),
        source: e,
    })?;
    if !meta.is_dir() {
        return Err(ArtifactError::Target(format!("{name}: not a directory")));
    }
    let mut fs = LayeredFs::new();
    let mut problems = Vec::new();
    let mut count = 0usize;
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir() && skip_dir(&e.file_name().to_string_lossy()))
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(InputProblem {
                    kind: ProblemKind::Error,
                    path: e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| name.clone()),
                    line: None,
                    message: e.to_string(),
                });
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        count += 1;
        if count > limits.max_entries {
            problems.push(InputProblem {
                kind: ProblemKind::Error,
                path: name.clone(),
                line: None,
                message: format!("more than {} entries; stopped walking", limits.max_entries),
            });
            break;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        let ft = entry.file_type();
        if ft.is_dir() {
            fs.insert(rel, EntryKind::Dir);
        } else if ft.is_symlink() {
            let target = std::fs::read_link(entry.path())
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            fs.insert(rel, EntryKind::Symlink(target));
        } else if ft.is_file() {
            let md = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    problems.push(problem(&rel, format!("cannot read: {e}")));
                    continue;
                }
            };
            #[cfg(unix)]
            let mode = std::os::unix::fs::PermissionsExt::mode(&md.permissions());
            #[cfg(not(unix))]
            let mode = 0o644;
            let size = md.len();
            let file = FileMeta {
                path: &rel,
                size,
                mode,
                layer: None,
            };
            if visitor.wants(&file) {
                if size > limits.max_file_size {
                    problems.push(InputProblem {
                        kind: ProblemKind::Skipped,
                        path: rel.clone(),
                        line: None,
                        message: format!(
                            "file is {} MB, over the {} MB limit; not read",
                            size / (1024 * 1024),
                            limits.max_file_size / (1024 * 1024)
                        ),
                    });
                } else {
                    let mut content = Vec::with_capacity(size as usize);
                    match std::fs::File::open(entry.path())
                        .and_then(|f| f.take(limits.max_file_size).read_to_end(&mut content))
                    {
                        Ok(_) => visitor.visit(&file, &content),
                        Err(e) => problems.push(problem(&rel, format!("cannot read: {e}"))),
                    }
                }
            }
            fs.insert(rel, EntryKind::File { size, mode });
        } else {
            fs.insert(rel, EntryKind::Other);
        }
    }
    Ok(Walked {
        kind: Kind::Filesystem,
        name,
        fs,
        image: None,
        problems,
    })
}

fn problem(path: &str, message: String) -> InputProblem {
    InputProblem {
        kind: ProblemKind::Error,
        path: path.to_string(),
        line: None,
        message,
    }
}
