//! `palisade scan image|fs|sbom`, `palisade db …`, `palisade version compare`.

use std::path::PathBuf;
use std::process::ExitCode;

use palisade_artifact::TargetRef;
use palisade_core::report::ScannedFile;
use palisade_core::{InputProblem, ProblemKind, Report, RuleInfo, Scanner};
use palisade_sbom::Inventory;
use palisade_vuln::matcher::{MatchOptions, match_inventory};
use palisade_vuln::store::{Store, default_cache_dir};
use palisade_vuln::version::Scheme;

use crate::cli::{DbArgs, DbCommand, VersionCommand, VulnScanArgs};
use crate::{Ctx, UserError};

/// Which kind of target a vulnerability scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VulnTarget {
    Image,
    Fs,
    Sbom,
}

fn cache_dir(db: &DbArgs) -> PathBuf {
    db.cache_dir.clone().unwrap_or_else(default_cache_dir)
}

/// Days since an RFC 3339 time, when it parses.
fn age_days(time: &str) -> Option<i64> {
    let secs = palisade_core::time::parse_rfc3339(time)?;
    Some((palisade_core::time::now_secs() - secs) / 86_400)
}

fn read_inventory(
    ctx: &Ctx,
    kind: VulnTarget,
    args: &VulnScanArgs,
) -> Result<Inventory, UserError> {
    match kind {
        VulnTarget::Sbom => {
            let path = PathBuf::from(&args.target);
            let meta =
                std::fs::metadata(&path).map_err(|e| UserError(format!("{}: {e}", args.target)))?;
            if meta.len() > 512 * 1024 * 1024 {
                return Err(UserError(format!(
                    "{}: larger than 512 MB; not an SBOM Palisade reads",
                    args.target
                )));
            }
            let bytes =
                std::fs::read(&path).map_err(|e| UserError(format!("{}: {e}", args.target)))?;
            palisade_sbom::input::read_sbom(&bytes, &args.target)
                .map_err(|e| UserError(format!("{}: {e}", args.target)))
        }
        VulnTarget::Fs => {
            let path = PathBuf::from(&args.target);
            if !path.is_dir() {
                return Err(UserError(format!(
                    "{}: not a directory (scan images with `palisade scan image`, SBOMs with `palisade scan sbom`)",
                    args.target
                )));
            }
            let opts = crate::sbom::artifact_options(&args.image)?;
            palisade_sbom::inventory_of(
                &TargetRef::Directory(path),
                &args.target,
                &opts,
                &[],
                &mut |_, _| {},
            )
            .map_err(|e| UserError(e.to_string()))
        }
        VulnTarget::Image => {
            let target = TargetRef::parse(&args.target).map_err(|e| UserError(e.to_string()))?;
            if matches!(target, TargetRef::Directory(_)) {
                return Err(UserError(format!(
                    "{}: a directory, not an image (use `palisade scan fs`, or oci:DIR for an image layout)",
                    args.target
                )));
            }
            if args.offline && matches!(target, TargetRef::Registry(_)) {
                return Err(UserError(format!(
                    "{}: a registry image cannot be read with --offline",
                    args.target
                )));
            }
            crate::sbom::inventory(ctx, &args.target, &args.image, &[])
        }
    }
}

pub fn scan(ctx: &Ctx, kind: VulnTarget, args: VulnScanArgs) -> Result<ExitCode, UserError> {
    let project = crate::scan::load_project_config(ctx)?;
    let dir = cache_dir(&args.db);
    let store = Store::open(&dir).map_err(|e| UserError(e.to_string()))?;
    let inv = read_inventory(ctx, kind, &args)?;
    let matched = match_inventory(
        &store,
        &inv,
        MatchOptions {
            ignore_unfixed: args.ignore_unfixed,
        },
    )
    .map_err(|e| UserError(e.to_string()))?;

    let mut report = Report::new("vuln", vec![args.target.clone()]);
    report.files.push(ScannedFile {
        path: args.target.clone(),
        kind: inv.target.kind.clone(),
        resources: inv.packages.len(),
    });
    report.problems.extend(inv.problems.iter().cloned());
    report.problems.extend(matched.notes);
    if let Ok(status) = store.status() {
        let newest = status
            .feeds
            .iter()
            .filter_map(|f| f.updated_at.clone())
            .max()
            .or(status.built_at.clone());
        match newest.as_deref().and_then(age_days) {
            Some(days) if args.offline || days > 7 => report.problems.push(InputProblem {
                kind: ProblemKind::Warning,
                path: status.path.display().to_string(),
                line: None,
                message: if days > 7 {
                    format!("the vulnerability data is {days} days old; run `palisade db update`")
                } else {
                    format!("offline: using vulnerability data from {days} days ago")
                },
            }),
            _ => {}
        }
    }
    report.findings = matched.findings;
    for vex in &args.vex {
        let doc = palisade_vuln::vex::Vex::load(vex).map_err(|e| UserError(e.to_string()))?;
        let image_purls: Vec<String> = inv
            .target
            .digest
            .iter()
            .map(|d| format!("pkg:oci/{}@{d}", inv.target.name))
            .collect();
        doc.apply(&mut report.findings, &image_purls);
    }
    // A rule per vulnerability, for SARIF and the JSON report's `rules`.
    let mut rules: Vec<RuleInfo> = Vec::new();
    for f in &report.findings {
        if rules.iter().any(|r| r.id == f.rule_id) {
            continue;
        }
        rules.push(RuleInfo {
            id: f.rule_id.clone(),
            title: f.title.clone(),
            severity: f.severity,
            scanner: Scanner::Vulnerability,
            kinds: f
                .vulnerability
                .iter()
                .map(|v| v.package.ecosystem.clone())
                .collect(),
            controls: Vec::new(),
            fix: f.fix.clone(),
            doc: String::new(),
        });
    }
    report.rules = rules;
    let complete = inv.complete;
    let created = crate::sbom::created(&inv);
    let version = env!("CARGO_PKG_VERSION");
    let render =
        |r: &Report| palisade_vuln::cyclonedx::render(&inv, &r.findings, version, &created);
    let code = crate::scan::finish(ctx, &project, &args.common, report, Some(&render), complete)?;
    if !complete {
        eprintln!(
            "error: part of {} could not be read; packages may be missing",
            args.target
        );
        return Ok(ExitCode::from(2));
    }
    Ok(code)
}

pub fn db(ctx: &Ctx, cmd: DbCommand) -> Result<ExitCode, UserError> {
    match cmd {
        DbCommand::Import { paths, db } => {
            let dir = cache_dir(&db);
            let r =
                palisade_vuln::store::import(&dir, &paths).map_err(|e| UserError(e.to_string()))?;
            let secs = r.elapsed.as_secs_f64().max(0.001);
            println!(
                "imported {} records from {} files into {} in {:.1} s ({:.0} records/s): {} new, {} replaced, {} kept, {} withdrawn, {} malformed",
                r.records,
                r.files,
                dir.join("osv.db").display(),
                secs,
                r.records as f64 / secs,
                r.inserted,
                r.replaced,
                r.kept,
                r.withdrawn,
                r.malformed
            );
            for issue in &r.errors {
                eprintln!("warning: {}: {}", issue.file, issue.message);
            }
            if r.malformed as usize > r.errors.len() && !ctx.quiet {
                eprintln!(
                    "note: {} more malformed records not shown",
                    r.malformed as usize - r.errors.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Update {
            ecosystems,
            db_source,
            db,
        } => {
            let dir = cache_dir(&db);
            let report =
                palisade_vuln::update::update(&dir, &db_source, &ecosystems, &Default::default())
                    .map_err(|e| UserError(e.to_string()))?;
            for e in &report.ecosystems {
                match &e.outcome {
                    palisade_vuln::update::Outcome::Unchanged => {
                        println!(
                            "{}: up to date (not modified since the last update)",
                            e.ecosystem
                        )
                    }
                    palisade_vuln::update::Outcome::Updated { bytes, import } => println!(
                        "{}: downloaded {:.1} MB, {} records ({} new, {} replaced, {} removed, {} malformed)",
                        e.ecosystem,
                        *bytes as f64 / 1_048_576.0,
                        import.records,
                        import.inserted,
                        import.replaced,
                        import.removed,
                        import.malformed
                    ),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Status { db } => {
            let dir = cache_dir(&db);
            let store = Store::open(&dir).map_err(|e| UserError(e.to_string()))?;
            let s = store.status().map_err(|e| UserError(e.to_string()))?;
            let mut text = format!(
                "Database: {} ({:.1} MB)\nAdvisories: {} ({} withdrawn)\n",
                s.path.display(),
                s.file_size as f64 / 1_048_576.0,
                s.advisories,
                s.withdrawn
            );
            text.push_str("\nFEED                 RECORDS  UPDATED                AGE\n");
            for f in &s.feeds {
                let updated = f.updated_at.clone().unwrap_or_else(|| "-".into());
                let age = f
                    .updated_at
                    .as_deref()
                    .and_then(age_days)
                    .map(|d| format!("{d} days"))
                    .unwrap_or_else(|| "-".into());
                text.push_str(&format!(
                    "{:<20} {:>8}  {:<22} {age}\n",
                    f.name, f.records, updated
                ));
            }
            crate::print_out(&text)
        }
    }
}

pub fn version(cmd: VersionCommand) -> Result<ExitCode, UserError> {
    match cmd {
        VersionCommand::Compare { ecosystem, a, b } => {
            let scheme = Scheme::for_ecosystem(&ecosystem).ok_or_else(|| {
                UserError(format!(
                    "unknown ecosystem {ecosystem:?}: use an OSV name such as Debian, Ubuntu, Alpine, Red Hat, PyPI, npm, crates.io, Go, Maven, RubyGems, NuGet, Packagist"
                ))
            })?;
            let order = scheme
                .compare(&a, &b)
                .map_err(|e| UserError(e.to_string()))?;
            let sign = match order {
                std::cmp::Ordering::Less => "<",
                std::cmp::Ordering::Equal => "=",
                std::cmp::Ordering::Greater => ">",
            };
            crate::print_out(&format!("{sign}\n"))
        }
    }
}
