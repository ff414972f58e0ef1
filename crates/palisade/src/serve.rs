//! `palisade serve`: the platform server (console, API, findings ledger, audit log).
//!
//! Settings: flags over the `[server]` table of the settings file over the defaults of
//! `palisade_server::platform::config`. The data directory defaults to the user's data
//! directory, so that the server keeps its database wherever it is started from.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use palisade_server::platform::config::{ConfigFile, Overrides};
use palisade_server::platform::{self, ServeOptions, Settings};

use crate::cli::ServeArgs;
use crate::{Ctx, UserError};

/// Where the data lives when neither a flag nor the settings file says:
/// `$PALISADE_DATA_DIR`, else `$XDG_DATA_HOME/palisade`, else `~/.local/share/palisade`;
/// `None` (then `./palisade-data`) when there is no home directory either.
pub fn default_data_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("PALISADE_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_DATA_HOME").map(PathBuf::from)
        && dir.is_absolute()
    {
        return Some(dir.join("palisade"));
    }
    var("HOME").map(|home| {
        PathBuf::from(home)
            .join(".local")
            .join("share")
            .join("palisade")
    })
}

/// The settings file: `--config`, else `$PALISADE_CONFIG`. Unlike the scans, the server never
/// picks up a palisade.toml from the current directory: a repository someone cloned could
/// otherwise point sign-in at its own identity provider or open the listener to the network.
pub(crate) fn settings_file(ctx: &Ctx) -> Result<Option<(ConfigFile, PathBuf)>, UserError> {
    let path = ctx.config.clone().or_else(|| {
        std::env::var_os("PALISADE_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let Some(path) = path else {
        return Ok(None);
    };
    let file = ConfigFile::load(&path).map_err(|e| {
        UserError(format!(
            "{e}\n  (fix the settings file, or pass --config with another one)"
        ))
    })?;
    Ok(Some((file, path)))
}

fn settings(ctx: &Ctx, args: &ServeArgs) -> Result<Settings, UserError> {
    let file = settings_file(ctx)?;
    let flags = Overrides {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        database: args.database.clone(),
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
    };
    Settings::resolve(file, flags, default_data_dir()).map_err(|e| UserError(e.to_string()))
}

fn database_name(settings: &Settings) -> String {
    if platform::config::is_postgres(&settings.database) {
        format!("PostgreSQL {}", platform::redact(&settings.database))
    } else {
        format!(
            "SQLite {}",
            absolute(Path::new(&settings.database)).display()
        )
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

pub fn run(ctx: &Ctx, args: ServeArgs) -> Result<ExitCode, UserError> {
    let settings = settings(ctx, &args)?;
    if args.reset_admin {
        let link = platform::reset_admin(&settings).map_err(|e| UserError(e.to_string()))?;
        if !ctx.quiet {
            eprintln!(
                "palisade serve: one-time login link for `admin` (valid 24 hours; it works once):"
            );
        }
        return crate::print_out(&format!("{link}\n"));
    }
    if let Some(src) = &settings.source
        && !ctx.quiet
    {
        eprintln!("palisade serve: settings from {}", src.display());
    }
    let exposed = settings.plain_http_exposed();
    let public_url_set = settings.public_url_set;
    let db = database_name(&settings);
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let server = platform::start(ServeOptions {
        settings,
        worker_threads: args.threads,
        handle_signals: true,
        log: true,
    })
    .map_err(|e| UserError(e.to_string()))?;
    eprintln!(
        "palisade serve: listening on {scheme}://{} ({db})",
        server.local_addr()
    );
    if exposed {
        let (on, off) = if ctx.color_stderr {
            ("\x1b[1;33m", "\x1b[0m")
        } else {
            ("", "")
        };
        eprintln!(
            "{on}WARNING: serving plain HTTP on {}, which other machines can reach.{off}\n\
             {on}         Passwords, session cookies and API tokens cross the network unencrypted.{off}\n\
             {on}         Use --tls-cert/--tls-key, or listen on 127.0.0.1 behind a TLS-terminating proxy\n\
             {on}         (and set [server] public_url = \"https://…\").{off}",
            server.local_addr()
        );
        if !public_url_set {
            eprintln!(
                "note: links the server makes (login links) point at {scheme}://127.0.0.1:{}; set [server] public_url to the address people use",
                server.local_addr().port()
            );
        }
    }
    if let Some(link) = server.first_login_link() {
        eprintln!(
            "\npalisade serve: first start: created the `admin` account. Sign in with this one-time link\n\
             (valid 24 hours, works once; then set a password):\n\n    {link}\n\n\
             Lost it? Stop the server and run `palisade serve --reset-admin`.\n"
        );
    }
    server.wait();
    if !ctx.quiet {
        eprintln!("palisade serve: stopped");
    }
    Ok(ExitCode::SUCCESS)
}
