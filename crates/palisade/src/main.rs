//! The `palisade` binary: parses arguments, calls the libraries, prints. Nothing else.

mod admission;
mod cli;
mod detect;
mod events;
mod policy;
mod rules;
mod sbom;
mod scan;
mod secrets;
mod serve;
mod upload;
mod vuln;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

/// mimalloc in place of the system allocator: parsing JSON events is mostly allocation, and
/// each event's map nodes end up close together, which the rule lookups that follow feel.
/// `detect_bench` with the first 100 SigmaHQ rules: 0.63–0.78M events/s with glibc's
/// allocator, 1.09–1.16M with this one (docs/decisions/0007-allocator.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cli::{Cli, Command, RulesCommand, ScanCommand};
use vuln::VulnTarget;

/// An error for the user: what went wrong and what to do. Exits with status 2.
#[derive(Debug)]
pub struct UserError(pub String);

impl<T: std::fmt::Display> From<T> for UserError {
    fn from(e: T) -> Self {
        UserError(e.to_string())
    }
}

/// Global settings every command needs.
pub struct Ctx {
    pub color_stdout: bool,
    pub color_stderr: bool,
    pub quiet: bool,
    pub config: Option<std::path::PathBuf>,
}

/// Writes to standard output; a reader that went away (`palisade rules list | head`) is not
/// an error.
pub fn print_out(text: &str) -> Result<ExitCode, UserError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(UserError(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let no_color = cli.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ctx = Ctx {
        color_stdout: !no_color && std::io::stdout().is_terminal(),
        color_stderr: !no_color && std::io::stderr().is_terminal(),
        quiet: cli.quiet,
        config: cli.config,
    };
    let result = match cli.command {
        Command::Scan(ScanCommand::Config(args)) => scan::config(&ctx, args),
        Command::Scan(ScanCommand::Secrets(args)) => secrets::scan(&ctx, args),
        Command::Scan(ScanCommand::Image(args)) => vuln::scan(&ctx, VulnTarget::Image, args),
        Command::Scan(ScanCommand::Fs(args)) => vuln::scan(&ctx, VulnTarget::Fs, args),
        Command::Scan(ScanCommand::Sbom(args)) => vuln::scan(&ctx, VulnTarget::Sbom, args),
        Command::Db(cmd) => vuln::db(&ctx, cmd),
        Command::Version(cmd) => vuln::version(cmd),
        Command::Sbom(args) => sbom::run(&ctx, args),
        Command::Explain { rule_id, policies } => policy::custom_rules(&ctx, &policies)
            .and_then(|custom| rules::explain(&ctx, &rule_id, &custom)),
        Command::Rules(RulesCommand::List {
            format,
            scanner,
            policies,
        }) => policy::custom_rules(&ctx, &policies)
            .and_then(|custom| rules::list(format, scanner.as_deref(), &custom)),
        Command::Policy(cmd) => policy::run(&ctx, cmd),
        Command::Admission(cmd) => admission::run(&ctx, cmd),
        Command::Serve(args) => serve::run(&ctx, args),
        Command::Ingest(args) => events::ingest(&ctx, args),
        Command::Events(cli::EventsCommand::Search(args)) => events::search(&ctx, args),
        Command::Rules(RulesCommand::Docs) => print_out(&rules::docs_markdown()),
        Command::Rules(RulesCommand::Import(cli::RulesImportCommand::Sigma(args))) => {
            detect::import(&ctx, args)
        }
        Command::Rules(RulesCommand::Sigma { format, data_dir }) => {
            detect::list(&ctx, format, data_dir)
        }
        Command::Detect(args) => detect::run(&ctx, args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "palisade", &mut buf);
            print_out(&String::from_utf8_lossy(&buf))
        }
    };
    match result {
        Ok(code) => code,
        Err(UserError(msg)) => {
            let prefix = if ctx.color_stderr {
                "\x1b[1;31merror:\x1b[0m"
            } else {
                "error:"
            };
            eprintln!("{prefix} {msg}");
            ExitCode::from(2)
        }
    }
}
