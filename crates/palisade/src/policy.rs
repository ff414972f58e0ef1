//! `palisade policy test|check`, and loading the custom Rego policies that `scan config`,
//! `rules list` and `explain` take with `--policy` (or from palisade.toml).

use std::fmt::Write;
use std::process::ExitCode;

use palisade_core::RuleInfo;
use palisade_core::config::ProjectConfig;
use palisade_policy::{PolicyOptions, PolicySet, PolicySources, TestStatus};

use crate::cli::{PolicyArgs, PolicyCommand};
use crate::{Ctx, UserError};

/// The policies and data named on the command line and in palisade.toml (relative to it).
fn sources(project: &ProjectConfig, args: &PolicyArgs) -> PolicySources {
    let mut s = PolicySources {
        policies: project
            .scan
            .policy
            .iter()
            .map(|p| project.resolve(p))
            .collect(),
        data: project
            .scan
            .data
            .iter()
            .map(|p| project.resolve(p))
            .collect(),
    };
    s.policies.extend(args.policies.iter().cloned());
    s.data.extend(args.data.iter().cloned());
    s
}

/// Loads the custom policies, if any are named. A policy that does not compile stops the
/// command: running the others would silently drop a check the project relies on.
pub fn load(
    ctx: &Ctx,
    project: &ProjectConfig,
    args: &PolicyArgs,
) -> Result<Option<PolicySet>, UserError> {
    let sources = sources(project, args);
    if sources.policies.is_empty() {
        if !sources.data.is_empty() {
            return Err(UserError(
                "--data is for policies: name them with --policy DIR".into(),
            ));
        }
        return Ok(None);
    }
    let set = PolicySet::load(&sources, PolicyOptions::default()).map_err(|e| {
        UserError(format!(
            "cannot load the policies:\n{e}\n  (`palisade policy check DIR` lists every problem)"
        ))
    })?;
    if !ctx.quiet {
        for w in set.warnings() {
            eprintln!("warning: {w}");
        }
    }
    Ok(Some(set))
}

/// The rules of the policies given with `--policy` or in palisade.toml.
pub fn custom_rules(ctx: &Ctx, args: &PolicyArgs) -> Result<Vec<RuleInfo>, UserError> {
    let project = crate::scan::load_project_config(ctx)?;
    Ok(load(ctx, &project, args)?
        .map(|s| s.rule_infos())
        .unwrap_or_default())
}

pub fn run(ctx: &Ctx, cmd: PolicyCommand) -> Result<ExitCode, UserError> {
    match cmd {
        PolicyCommand::Test {
            paths,
            data,
            verbose,
        } => test(ctx, paths, data, verbose),
        PolicyCommand::Check { paths, data } => check(paths, data),
    }
}

fn test(
    ctx: &Ctx,
    paths: Vec<std::path::PathBuf>,
    data: Vec<std::path::PathBuf>,
    verbose: bool,
) -> Result<ExitCode, UserError> {
    // As `opa test` does, data files inside the policy folders are loaded too.
    let mut all_data: Vec<_> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
    all_data.extend(data);
    let sources = PolicySources {
        policies: paths,
        data: all_data,
    };
    let set = match PolicySet::load(&sources, PolicyOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            for p in &e.problems {
                eprintln!("{p}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    let outcomes = set.run_tests();
    if outcomes.is_empty() {
        if !ctx.quiet {
            eprintln!("note: no test_* rules found");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let paint = |s: &str, code: &str| {
        if ctx.color_stdout {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let mut file = "";
    let (mut pass, mut fail, mut error, mut skip) = (0, 0, 0, 0);
    for o in &outcomes {
        if o.case.file != file {
            file = &o.case.file;
            let _ = writeln!(out, "{file}:");
        }
        let status = match &o.status {
            TestStatus::Pass => {
                pass += 1;
                paint("PASS", "32")
            }
            TestStatus::Fail => {
                fail += 1;
                paint("FAIL", "31")
            }
            TestStatus::Error(_) => {
                error += 1;
                paint("ERROR", "31")
            }
            TestStatus::Skip => {
                skip += 1;
                paint("SKIPPED", "33")
            }
        };
        let name = format!("data.{}.{}", o.case.package, o.case.name);
        if verbose {
            let _ = writeln!(out, "  {name}: {status} ({:.1?})", o.duration);
        } else {
            let _ = writeln!(out, "  {name}: {status}");
        }
        if let TestStatus::Error(e) = &o.status {
            let _ = writeln!(out, "    {e}");
        }
        if verbose || !matches!(o.status, TestStatus::Pass | TestStatus::Skip) {
            for p in &o.prints {
                let _ = writeln!(out, "    {p}");
            }
        }
    }
    let total = outcomes.len();
    let _ = writeln!(out, "{}", "-".repeat(80));
    for (label, n) in [
        ("PASS", pass),
        ("FAIL", fail),
        ("ERROR", error),
        ("SKIPPED", skip),
    ] {
        if n > 0 {
            let _ = writeln!(out, "{label}: {n}/{total}");
        }
    }
    crate::print_out(&out)?;
    Ok(if fail + error > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn check(
    paths: Vec<std::path::PathBuf>,
    data: Vec<std::path::PathBuf>,
) -> Result<ExitCode, UserError> {
    let sources = PolicySources {
        policies: paths,
        data,
    };
    match PolicySet::load(&sources, PolicyOptions::default()) {
        Ok(set) => {
            let mut out = String::new();
            for w in set.warnings() {
                let _ = writeln!(out, "{w}");
            }
            let _ = writeln!(
                out,
                "{} rules and {} tests in {} files: no errors",
                set.rules().len(),
                set.tests().len(),
                set.files().len()
            );
            crate::print_out(&out)
        }
        Err(e) => {
            let mut out = String::new();
            for p in &e.problems {
                let _ = writeln!(out, "{p}");
            }
            crate::print_out(&out)?;
            eprintln!(
                "{} error{}",
                e.problems.len(),
                if e.problems.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::from(2))
        }
    }
}
