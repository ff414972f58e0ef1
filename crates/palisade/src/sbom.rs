//! `palisade sbom TARGET`: walk a target, run the catalogers, write the inventory.

use std::io::IsTerminal;
use std::process::ExitCode;

use palisade_artifact::oci::Platform;
use palisade_artifact::{Options, TargetRef};
use palisade_core::ProblemKind;
use palisade_sbom::Inventory;

use crate::cli::{ImageArgs, SbomArgs, SbomFormat};
use crate::{Ctx, UserError};

/// Artifact options from the image flags.
pub fn artifact_options(args: &ImageArgs) -> Result<Options, UserError> {
    let platform =
        Platform::parse(&args.platform).map_err(|e| UserError(format!("--platform: {e}")))?;
    Ok(Options {
        platform,
        insecure_registries: args.insecure_registry.clone(),
        ..Options::default()
    })
}

/// Walks `target` and builds its inventory; problems are in the inventory.
pub fn inventory(
    ctx: &Ctx,
    target: &str,
    image: &ImageArgs,
    only: &[String],
) -> Result<Inventory, UserError> {
    let known: Vec<&str> = palisade_sbom::catalog::all()
        .iter()
        .map(|c| c.name())
        .collect();
    if let Some(bad) = only.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(UserError(format!(
            "--catalogers: no cataloger {bad:?}; there are: {}",
            known.join(", ")
        )));
    }
    let opts = artifact_options(image)?;
    let target_ref = TargetRef::parse(target).map_err(|e| UserError(e.to_string()))?;
    let show_bar = !ctx.quiet
        && std::io::stderr().is_terminal()
        && !matches!(target_ref, TargetRef::Directory(_));
    let bar = show_bar.then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} reading layers {bytes}/{total_bytes} {wide_bar} {eta}",
            )
            .expect("the template is valid"),
        );
        bar
    });
    let mut progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let result = palisade_sbom::inventory_of(&target_ref, target, &opts, only, &mut progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    result.map_err(|e| UserError(e.to_string()))
}

/// The timestamp SBOMs record: `SOURCE_DATE_EPOCH`, else the image's creation time, else
/// today at midnight UTC (so that two runs on the same day produce the same bytes).
pub fn created(inv: &Inventory) -> String {
    palisade_core::time::reproducible_timestamp(|| {
        inv.created.clone().unwrap_or_else(|| {
            palisade_core::time::rfc3339(palisade_core::time::now_secs() / 86_400 * 86_400)
        })
    })
}

pub fn run(ctx: &Ctx, args: SbomArgs) -> Result<ExitCode, UserError> {
    let upload = crate::upload::prepare(&args.upload)?;
    let inv = inventory(ctx, &args.target, &args.image, &args.catalogers)?;
    for p in &inv.problems {
        let tag = match p.kind {
            ProblemKind::Error => "error",
            ProblemKind::Skipped if !ctx.quiet => "note",
            ProblemKind::Warning if !ctx.quiet => "warning",
            _ => continue,
        };
        eprintln!("{tag}: {}", palisade_report::printable(&p.to_string()));
    }
    let version = env!("CARGO_PKG_VERSION");
    let text = match args.format {
        SbomFormat::Table => palisade_sbom::output::table(&inv),
        SbomFormat::Json => palisade_sbom::output::json(&inv, version),
        SbomFormat::Cyclonedx => palisade_sbom::output::cyclonedx(&inv, version, &created(&inv)),
        SbomFormat::Spdx => palisade_sbom::output::spdx(&inv, version, &created(&inv)),
    };
    // The server reads CycloneDX: the output itself, or made for the upload.
    let upload_body = upload.as_ref().map(|_| match args.format {
        SbomFormat::Cyclonedx => text.clone(),
        _ => palisade_sbom::output::cyclonedx(&inv, version, &created(&inv)),
    });
    let written = match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| UserError(format!("cannot write {}: {e}", path.display())))?;
            if !ctx.quiet {
                eprintln!(
                    "wrote {} packages to {}",
                    inv.packages.len(),
                    path.display()
                );
            }
            ExitCode::SUCCESS
        }
        None => crate::print_out(&text)?,
    };
    if let (Some(upload), Some(body)) = (&upload, upload_body) {
        upload.send(ctx, body.into_bytes(), crate::upload::CYCLONEDX, None)?;
    }
    if !inv.complete {
        // The SBOM is written (and marked incomplete), but a pipeline must not take it for
        // the whole image.
        eprintln!(
            "error: part of {} could not be read; the inventory is incomplete",
            args.target
        );
        return Ok(ExitCode::from(2));
    }
    Ok(written)
}
