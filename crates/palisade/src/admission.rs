//! `palisade admission serve|config|certs`: the Kubernetes admission webhook, its webhook
//! configuration objects and its certificates.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use palisade_server::admission::config::{AdmissionConfig, PssDeny};
use palisade_server::admission::webhook_config::WebhookConfigOptions;
use palisade_server::admission::{Checker, Policies, RegoLoader, ServerOptions};

use crate::cli::{
    AdmissionCertsArgs, AdmissionCommand, AdmissionConfigArgs, AdmissionServeArgs, FailurePolicyArg,
};
use crate::{Ctx, UserError};

pub fn run(ctx: &Ctx, cmd: AdmissionCommand) -> Result<ExitCode, UserError> {
    match cmd {
        AdmissionCommand::Serve(args) => serve(ctx, args),
        AdmissionCommand::Config(args) => config(args),
        AdmissionCommand::Certs(args) => certs(ctx, args),
    }
}

fn serve(ctx: &Ctx, args: AdmissionServeArgs) -> Result<ExitCode, UserError> {
    let mut cfg = match &ctx.config {
        Some(p) => AdmissionConfig::load(p).map_err(|e| UserError(e.to_string()))?,
        None => AdmissionConfig::default(),
    };
    cfg.policy.extend(args.policies.policies.iter().cloned());
    cfg.data.extend(args.policies.data.iter().cloned());
    if cfg.policy.is_empty() && !cfg.data.is_empty() {
        return Err(UserError(
            "--data is for policies: name them with --policy DIR".into(),
        ));
    }
    let policies = if cfg.policy.is_empty() {
        Policies::none()
    } else {
        // One rule gets at most half the request's deadline, so an answer still goes out.
        let limit = Duration::from_millis((cfg.timeout_ms / 2).max(1));
        let loader = RegoLoader::new(cfg.policy.clone(), cfg.data.clone(), limit);
        Policies::load(Arc::new(loader)).map_err(|e| {
            UserError(format!(
                "cannot load the policies:\n{e}\n  (`palisade policy check DIR` lists every problem)"
            ))
        })?
    };
    let rules = policies.current().map_or(0, |p| p.rule_count());
    let summary = format!(
        "mode {}, deny {}{}, {} custom rule{}, failure-mode {:?}",
        cfg.mode.as_str(),
        cfg.deny_severity
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("/"),
        match cfg.deny_pss {
            PssDeny::None => "",
            PssDeny::Baseline => " and PSS baseline",
            PssDeny::Restricted => " and PSS restricted",
        },
        rules,
        if rules == 1 { "" } else { "s" },
        cfg.failure_mode
    )
    .to_lowercase();
    let checker = Checker::new(cfg, policies).map_err(UserError)?;
    let server = palisade_server::admission::start(
        ServerOptions {
            listen: args.listen,
            tls_cert: args.tls_cert,
            tls_key: args.tls_key,
            worker_threads: args.threads,
            handle_signals: true,
            log: true,
        },
        checker,
    )
    .map_err(|e| UserError(e.to_string()))?;
    if !ctx.quiet {
        eprintln!(
            "palisade admission: serving https://{} ({summary})",
            server.local_addr()
        );
    }
    server.wait();
    if !ctx.quiet {
        eprintln!("palisade admission: stopped");
    }
    Ok(ExitCode::SUCCESS)
}

fn config(args: AdmissionConfigArgs) -> Result<ExitCode, UserError> {
    let Some((namespace, name)) = args.service.split_once('/') else {
        return Err(UserError(format!(
            "--service {:?}: expected NAMESPACE/NAME, e.g. palisade/palisade-webhook",
            args.service
        )));
    };
    let ca = std::fs::read_to_string(&args.ca_bundle)
        .map_err(|e| UserError(format!("{}: cannot read: {e}", args.ca_bundle.display())))?;
    let opts = WebhookConfigOptions {
        name: args.name,
        service_namespace: namespace.to_string(),
        service_name: name.to_string(),
        port: args.port,
        ca_bundle_pem: ca,
        mutating: args.mutating,
        failure_policy: match args.failure_policy {
            FailurePolicyArg::Fail => "Fail".into(),
            FailurePolicyArg::Ignore => "Ignore".into(),
        },
        timeout_seconds: args.timeout_seconds,
    };
    let yaml = opts.render().map_err(|e| {
        if e.contains("CA bundle") {
            UserError(format!("{}: {e}", args.ca_bundle.display()))
        } else {
            UserError(e)
        }
    })?;
    crate::print_out(&yaml)
}

/// The names a serving certificate for `name` should carry: the name, and for a
/// `SERVICE.NAMESPACE.svc` name also its `.cluster.local` form.
fn sans(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let n = n.trim().trim_end_matches('.').to_ascii_lowercase();
        let mut add = |s: String| {
            if !s.is_empty() && !out.contains(&s) {
                out.push(s);
            }
        };
        if n.ends_with(".svc") {
            add(n.clone());
            add(format!("{n}.cluster.local"));
        } else {
            add(n);
        }
    }
    out
}

fn write_file(path: &Path, text: &str, secret: bool) -> Result<(), UserError> {
    let err = |e: std::io::Error| UserError(format!("{}: cannot write: {e}", path.display()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    use std::io::Write;
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)
}

fn certs(ctx: &Ctx, args: AdmissionCertsArgs) -> Result<ExitCode, UserError> {
    let names = sans(&args.dns);
    let files = ["ca.crt", "ca.key", "tls.crt", "tls.key"].map(|f| args.out.join(f));
    if let Some(existing) = files.iter().find(|p| p.exists()) {
        return Err(UserError(format!(
            "{} exists: not overwriting certificates or keys (remove them, or pass another --out)",
            existing.display()
        )));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| UserError(format!("{}: cannot create: {e}", args.out.display())))?;
    let generated = palisade_server::tls::generate(&names, args.days, args.ca_days)
        .map_err(|e| UserError(e.to_string()))?;
    write_file(&files[0], &generated.ca_cert, false)?;
    write_file(&files[1], &generated.ca_key, true)?;
    write_file(&files[2], &generated.cert, false)?;
    write_file(&files[3], &generated.key, true)?;
    if !ctx.quiet {
        let d = args.out.display();
        eprintln!(
            "wrote {d}/ca.crt, {d}/ca.key, {d}/tls.crt, {d}/tls.key: a CA (valid {} days) and a serving certificate for {} (valid {} days)",
            args.ca_days,
            names.join(", "),
            args.days
        );
        let service = names
            .first()
            .and_then(|n| n.strip_suffix(".svc").or(Some(n.as_str())))
            .and_then(|n| n.split_once('.'))
            .map(|(svc, ns)| format!("{ns}/{svc}"))
            .unwrap_or_else(|| "NAMESPACE/SERVICE".into());
        let ns = service.split('/').next().unwrap_or("NAMESPACE");
        eprintln!(
            "next:\n  kubectl -n {ns} create secret tls palisade-webhook-tls --cert={d}/tls.crt --key={d}/tls.key\n  palisade admission config --service {service} --ca-bundle {d}/ca.crt | kubectl apply -f -"
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_get_their_cluster_local_form() {
        assert_eq!(
            sans(&["palisade-webhook.palisade.svc".into(), "localhost".into()]),
            [
                "palisade-webhook.palisade.svc",
                "palisade-webhook.palisade.svc.cluster.local",
                "localhost"
            ]
        );
    }
}
