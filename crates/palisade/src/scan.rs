//! `palisade scan …`: run a scanner, apply the project's settings and ignore file, filter
//! by severity, render, and pick the exit status.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use palisade_core::config::ProjectConfig;
use palisade_core::ignore::{self, Date, IgnoreFile};
use palisade_core::{ProblemKind, Report, Severity};
use palisade_misconfig::pss::PssLevel;
use palisade_misconfig::{Input, ScanOptions};
use palisade_report::{Format, RenderOptions};

use crate::cli::{CommonScanArgs, ConfigScanArgs, FormatArg, InputTypeArg, PssArg};
use crate::{Ctx, UserError};

/// Standard input is read up to this size.
const MAX_STDIN: u64 = palisade_misconfig::DEFAULT_MAX_FILE_SIZE;

pub fn config(ctx: &Ctx, args: ConfigScanArgs) -> Result<ExitCode, UserError> {
    let project = load_project_config(ctx)?;
    let mut opts = ScanOptions {
        disabled: project.rules.disable.iter().cloned().collect(),
        severity_overrides: project
            .rules
            .severity
            .iter()
            .map(|(id, sev)| (id.to_ascii_uppercase(), *sev))
            .collect(),
        pss: args.pss.map(|p| match p {
            PssArg::Baseline => PssLevel::Baseline,
            PssArg::Restricted => PssLevel::Restricted,
        }),
        ..ScanOptions::default()
    };
    let policies = crate::policy::load(ctx, &project, &args.policies)?;
    let mut known: HashSet<String> = palisade_misconfig::builtin_rules()
        .iter()
        .map(|m| m.id.to_ascii_uppercase())
        .collect();
    if let Some(set) = &policies {
        known.extend(set.rules().iter().map(|r| r.info.id.to_ascii_uppercase()));
    }
    for id in opts.disabled.iter().chain(opts.severity_overrides.keys()) {
        if !known.contains(&id.to_ascii_uppercase()) && !ctx.quiet {
            eprintln!(
                "warning: palisade.toml names unknown rule {id:?}; run `palisade rules list`"
            );
        }
    }
    opts.disabled = opts
        .disabled
        .iter()
        .map(|s| s.to_ascii_uppercase())
        .collect();

    let mut inputs = Vec::new();
    let mut stdin_used = false;
    for p in &args.paths {
        if p.as_os_str() == "-" {
            if stdin_used {
                return Err(UserError(
                    "`-` (standard input) given more than once".into(),
                ));
            }
            stdin_used = true;
            inputs.push(Input::Stdin(read_stdin()?));
        } else {
            inputs.push(Input::Path(p.clone()));
        }
    }
    let mut report = palisade_misconfig::scan(&inputs, &opts);
    if let Some(set) = &policies {
        let policy_opts = palisade_policy::ScanOptions {
            input_type: args.input_type.map(|t| match t {
                InputTypeArg::Kubernetes => palisade_policy::InputKind::Kubernetes,
                InputTypeArg::Dockerfile => palisade_policy::InputKind::Dockerfile,
                InputTypeArg::Json => palisade_policy::InputKind::Json,
                InputTypeArg::Yaml => palisade_policy::InputKind::Yaml,
            }),
            disabled: opts.disabled.clone(),
            severity_overrides: opts.severity_overrides.clone(),
            ..palisade_policy::ScanOptions::default()
        };
        palisade_policy::scan(&mut report, &inputs, set, &policy_opts);
        report.finish();
    } else if args.input_type.is_some() && !ctx.quiet {
        eprintln!("warning: --input-type only changes what policies see; no --policy given");
    }
    finish(ctx, &project, &args.common, report, None, true)
}

fn read_stdin() -> Result<String, UserError> {
    let mut buf = Vec::new();
    std::io::stdin()
        .take(MAX_STDIN + 1)
        .read_to_end(&mut buf)
        .map_err(|e| UserError(format!("cannot read standard input: {e}")))?;
    if buf.len() as u64 > MAX_STDIN {
        return Err(UserError(format!(
            "standard input is over the {} MB limit; save it to a file and scan that",
            MAX_STDIN / 1_048_576
        )));
    }
    if buf.iter().all(u8::is_ascii_whitespace) {
        return Err(UserError("standard input is empty: nothing to scan".into()));
    }
    if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        buf.drain(..3);
    }
    String::from_utf8(buf).map_err(|_| UserError("standard input is not UTF-8 text".into()))
}

pub fn load_project_config(ctx: &Ctx) -> Result<ProjectConfig, UserError> {
    let path = match &ctx.config {
        Some(p) => Some(p.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| ProjectConfig::discover(&d)),
    };
    match path {
        Some(p) => {
            let cwd = std::env::current_dir().unwrap_or_default();
            if ctx.config.is_none() && p.parent() != Some(cwd.as_path()) && !ctx.quiet {
                eprintln!("note: using settings from {}", p.display());
            }
            ProjectConfig::load(&p).map_err(|e| {
                UserError(format!(
                    "{e}\n  (fix the settings file, or pass --config with another one)"
                ))
            })
        }
        None => Ok(ProjectConfig::default()),
    }
}

/// Where the ignore file is: the flag, the settings file, or `.palisadeignore.yaml` next to
/// the settings file, or found like the settings file (working folder up to the project root).
fn ignore_path(project: &ProjectConfig, common: &CommonScanArgs) -> Option<(PathBuf, bool)> {
    if let Some(p) = &common.ignore_file {
        return Some((p.clone(), true));
    }
    if let Some(p) = &project.scan.ignore_file {
        return Some((project.resolve(p), true));
    }
    if let Some(dir) = project.source.as_deref().and_then(Path::parent) {
        let p = dir.join(ignore::FILE_NAME);
        if p.is_file() {
            return Some((p, false));
        }
    }
    let cwd = std::env::current_dir().ok()?;
    palisade_core::config::find_in_project(&cwd, ignore::FILE_NAME).map(|p| (p, false))
}

/// Applies suppressions and filters, renders, writes, and decides the exit status.
/// Renders CycloneDX for scans that have an inventory behind them.
pub type CycloneDxRenderer<'a> = &'a dyn Fn(&Report) -> String;

///
/// `complete` is false when part of the target could not be read: such a report is written
/// but not uploaded (the server would take what it misses for fixed).
pub fn finish(
    ctx: &Ctx,
    project: &ProjectConfig,
    common: &CommonScanArgs,
    mut report: Report,
    cyclonedx: Option<CycloneDxRenderer<'_>>,
    complete: bool,
) -> Result<ExitCode, UserError> {
    if matches!(common.format, FormatArg::Cyclonedx) && cyclonedx.is_none() {
        return Err(UserError(
            "-f cyclonedx is for vulnerability scans (scan image|fs|sbom); use table, json, sarif or junit".into(),
        ));
    }
    let upload = crate::upload::prepare(&common.upload)?;
    if let Some((path, explicit)) = ignore_path(project, common) {
        match IgnoreFile::load(&path) {
            Ok((file, problems)) => {
                report.problems.extend(problems);
                let warnings = file.apply(&mut report.findings, Date::today());
                report.problems.extend(warnings);
            }
            Err(p) if explicit || path.exists() => {
                return Err(UserError(p.to_string()));
            }
            Err(_) => {}
        }
    }

    let severities: Option<Vec<Severity>> = match &common.severity {
        Some(s) => {
            let list = palisade_core::severity::parse_list(s)
                .map_err(|e| UserError(format!("--severity: {e}")))?;
            if list.is_empty() {
                return Err(UserError(
                    "--severity: empty list; name at least one of CRITICAL, HIGH, MEDIUM, LOW, INFO, UNKNOWN"
                        .into(),
                ));
            }
            Some(list)
        }
        None => project.scan.severity.clone(),
    };
    if let Some(sev) = &severities {
        report.findings.retain(|f| sev.contains(&f.severity));
        let used: HashSet<String> = report.findings.iter().map(|f| f.rule_id.clone()).collect();
        report.rules.retain(|r| used.contains(&r.id));
    }
    report.finish();

    let show_suppressed = common.show_suppressed || project.scan.show_suppressed.unwrap_or(false);
    let format = match common.format {
        FormatArg::Table => Format::Table,
        FormatArg::Json | FormatArg::Cyclonedx => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Junit => Format::Junit,
    };
    let to_file = common.output.is_some();
    let render_opts = RenderOptions {
        color: ctx.color_stdout && !to_file,
        show_suppressed,
    };
    let render = |report: &Report, w: &mut dyn std::io::Write| -> std::io::Result<()> {
        match (common.format, cyclonedx) {
            (FormatArg::Cyclonedx, Some(f)) => w.write_all(f(report).as_bytes()),
            _ => palisade_report::render(report, format, render_opts, w),
        }
    };
    if !show_suppressed {
        // Counted in the summary already; not listed.
        report.findings.retain(|f| f.suppressed.is_none());
    }

    // Problems go to stderr as well as into the report, so they are seen even when the
    // report goes to a file or is a machine format.
    for p in &report.problems {
        let tag = match p.kind {
            ProblemKind::Error => "error",
            ProblemKind::Skipped if !ctx.quiet => "note",
            ProblemKind::Warning if !ctx.quiet => "warning",
            _ => continue,
        };
        eprintln!("{tag}: {}", palisade_report::printable(&p.to_string()));
    }

    match &common.output {
        Some(path) => {
            let write = || -> std::io::Result<()> {
                let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
                render(&report, &mut w)?;
                w.into_inner().map_err(|e| e.into_error())?.sync_all()
            };
            write().map_err(|e| {
                UserError(format!("cannot write report to {}: {e}", path.display()))
            })?;
            if !ctx.quiet {
                eprintln!(
                    "wrote {} ({} findings) to {}",
                    format_name(format),
                    report.summary.total(),
                    path.display()
                );
            }
        }
        None => {
            use std::io::Write;
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            let result = render(&report, &mut w).and_then(|_| w.flush());
            match result {
                // A closed pipe (e.g. `| head`) is not an error worth a message.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(UserError(format!("cannot write the report: {e}"))),
                Ok(()) => {}
            }
        }
    }

    let nothing_scanned =
        report.files.is_empty() && (report.summary.errors > 0 || report.summary.skipped > 0);
    if let Some(upload) = &upload {
        if nothing_scanned || !complete {
            return Err(UserError(
                "the report was not uploaded: part of the target could not be scanned, and the server would take what the report misses for fixed"
                    .into(),
            ));
        }
        // What the server reads: the output itself when it is JSON, SARIF or CycloneDX;
        // the JSON report when the output is a table or JUnit.
        let plain = RenderOptions {
            color: false,
            show_suppressed,
        };
        let (body, content_type, asset) = match (common.format, cyclonedx) {
            (FormatArg::Cyclonedx, Some(f)) => {
                (f(&report).into_bytes(), crate::upload::CYCLONEDX, None)
            }
            (FormatArg::Sarif, _) => {
                let mut b = Vec::new();
                palisade_report::render(&report, Format::Sarif, plain, &mut b)
                    .map_err(|e| UserError(format!("cannot render the report: {e}")))?;
                // SARIF does not say what was scanned: name it as the JSON report would.
                (b, crate::upload::SARIF, crate::upload::asset_of(&report))
            }
            _ => {
                let mut b = Vec::new();
                palisade_report::render(&report, Format::Json, plain, &mut b)
                    .map_err(|e| UserError(format!("cannot render the report: {e}")))?;
                (b, crate::upload::JSON, None)
            }
        };
        upload.send(ctx, body, content_type, asset)?;
    }
    if nothing_scanned {
        if !ctx.quiet {
            eprintln!("error: nothing could be scanned");
        }
        return Ok(ExitCode::from(2));
    }
    let code = common.exit_code.or(project.scan.exit_code).unwrap_or(0);
    if code != 0 && report.summary.total() > 0 {
        return Ok(ExitCode::from(code.clamp(1, 255) as u8));
    }
    Ok(ExitCode::SUCCESS)
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Table => "table",
        Format::Json => "JSON report",
        Format::Sarif => "SARIF",
        Format::Junit => "JUnit XML",
    }
}
