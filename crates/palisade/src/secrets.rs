//! `palisade scan secrets TARGET`.

use std::path::PathBuf;
use std::process::ExitCode;

use palisade_artifact::TargetRef;
use palisade_secrets::scan::{Options, scan_git, scan_image, scan_path};

use crate::cli::SecretScanArgs;
use crate::{Ctx, UserError};

pub fn scan(ctx: &Ctx, args: SecretScanArgs) -> Result<ExitCode, UserError> {
    if args.show_secrets && crate::upload::prepare(&args.common.upload)?.is_some() {
        return Err(UserError(
            "--show-secrets with --upload would send the secrets in full to the server; upload without --show-secrets (findings keep the first four characters)".into(),
        ));
    }
    let project = crate::scan::load_project_config(ctx)?;
    let engine = palisade_secrets::builtin();
    let opts = Options {
        show_secrets: args.show_secrets,
        no_ignore: args.no_ignore,
        ..Options::default()
    };
    let path = PathBuf::from(&args.target);
    let report = if args.git {
        if !path.join(".git").exists() && !path.join("HEAD").is_file() {
            return Err(UserError(format!(
                "{}: not a git repository (--git scans a repository's history)",
                args.target
            )));
        }
        scan_git(engine, &path, &opts)
    } else {
        // A file that is an image archive is scanned as an image; any other file as a file.
        match TargetRef::parse(&args.target) {
            Ok(TargetRef::Directory(_)) => scan_path(engine, &path, &opts),
            Ok(target) => {
                let artifact = crate::sbom::artifact_options(&args.image)?;
                scan_image(engine, &target, &args.target, &artifact, &opts)
                    .map_err(|e| UserError(e.to_string()))?
            }
            Err(_) if path.is_file() => scan_path(engine, &path, &opts),
            Err(e) => return Err(UserError(e.to_string())),
        }
    };
    crate::scan::finish(ctx, &project, &args.common, report, None, true)
}
