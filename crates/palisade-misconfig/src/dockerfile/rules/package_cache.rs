use palisade_core::{RuleMeta, Scanner, Severity};

use super::packages::{Install, Manager, install_of};
use super::util::{ancestry, image_stages, run_like, run_text};
use crate::dockerfile::shell::{commands, program};
use crate::dockerfile::{Dockerfile, Instruction, parse_arg_decls, parse_env_pairs};
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-009",
        title: "Package manager cache left in the image",
        severity: Severity::Low,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &[],
        fix: "Clean up in the same RUN that installs (`rm -rf /var/lib/apt/lists/*`, `apk add --no-cache`, `dnf clean all`, `pip install --no-cache-dir`), or use a `--mount=type=cache` mount.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `RUN` steps in the stages that make up the final image which install packages and
leave the package manager's downloads or indexes behind in the same layer:
`apt-get install` without `rm -rf /var/lib/apt/lists/*`, `apk add` without `--no-cache`
(or removing `/var/cache/apk`), `yum`/`dnf install` without `yum`/`dnf clean all`, and
`pip install` without `--no-cache-dir` (or `PIP_NO_CACHE_DIR`). Steps that mount a build
cache (`RUN --mount=type=cache`) are not reported, nor build stages that only feed files
into the final image.

## Why is this bad?
Each `RUN` becomes an image layer, and files deleted in a later step still ship in the
earlier layer. Package indexes and caches add tens to hundreds of megabytes that every node
pulls and stores, slowing deployments and scale-ups. Stale package lists left in the image
also make a later `apt-get install` in a derived image pick outdated versions, or fail when
the mirror no longer has them.

## Example
```dockerfile
FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311
RUN rm -rf /var/lib/apt/lists/*
```

## Use instead
```dockerfile
FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311 && \
    rm -rf /var/lib/apt/lists/*
```

## References
- [Docker build best practices: apt-get](https://docs.docker.com/build/building/best-practices/#apt-get)
- [Docker build cache: use cache mounts](https://docs.docker.com/build/cache/optimize/#use-cache-mounts)
- [pip documentation: caching](https://pip.pypa.io/en/stable/topics/caching/)
"#;

/// Whether some `rm` in the script removes `dir` or something under it.
fn removes(cmds: &[Vec<String>], dirs: &[&str]) -> bool {
    cmds.iter().filter(|c| program(c) == "rm").any(|c| {
        c.iter().skip(1).any(|a| {
            let a = a.trim_end_matches('*').trim_end_matches('/');
            dirs.iter()
                .any(|d| a == *d || a.starts_with(&format!("{d}/")))
        })
    })
}

/// Whether the cache of `install`'s manager is cleaned up in the same script.
fn cleaned(install: &Install, cmds: &[Vec<String>], script: &str, pip_env: bool) -> bool {
    match install.manager {
        Manager::Apt => removes(cmds, &["/var/lib/apt/lists"]) || removes(cmds, &["/var/lib/apt"]),
        Manager::Apk => install.has_option(&["--no-cache"]) || removes(cmds, &["/var/cache/apk"]),
        Manager::Yum => {
            cmds.iter().any(|c| {
                matches!(program(c), "yum" | "dnf" | "microdnf" | "tdnf")
                    && c.iter().any(|w| w == "clean")
                    && c.iter().any(|w| w == "all")
            }) || removes(cmds, &["/var/cache/yum", "/var/cache/dnf"])
        }
        Manager::Pip => {
            pip_env
                || install.has_option(&["--no-cache-dir"])
                || script.contains("PIP_NO_CACHE_DIR")
                || removes(cmds, &["/root/.cache", "~/.cache", "$HOME/.cache"])
                || cmds.iter().any(|c| {
                    program(c).starts_with("pip")
                        && c.get(1..3).is_some_and(|w| w == ["cache", "purge"])
                })
        }
        Manager::Gem | Manager::Npm => true,
    }
}

fn message(install: &Install) -> String {
    let tool = &install.tool;
    match install.manager {
        Manager::Apt => format!(
            "{tool} install leaves the package lists in the layer; add \"rm -rf /var/lib/apt/lists/*\" to the same RUN"
        ),
        Manager::Apk => "apk add without --no-cache leaves the package index in the layer".into(),
        Manager::Yum => format!(
            "{tool} install without \"{tool} clean all\" in the same RUN leaves the package cache in the layer"
        ),
        _ => "pip install without --no-cache-dir leaves the download cache in the layer".into(),
    }
}

fn uses_cache_mount(inst: &Instruction) -> bool {
    inst.flags.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("mount") && v.split(',').any(|p| p.trim() == "type=cache")
    })
}

/// The instructions (index and stage) that set `PIP_NO_CACHE_DIR` by ENV or ARG, found in
/// one pass so that each RUN does not rescan the instructions before it.
fn pip_no_cache_settings(df: &Dockerfile) -> Vec<(usize, usize)> {
    df.instructions
        .iter()
        .enumerate()
        .filter(|(_, i)| match i.keyword.as_str() {
            "ENV" => parse_env_pairs(&i.args)
                .iter()
                .any(|(n, _)| n == "PIP_NO_CACHE_DIR"),
            "ARG" => parse_arg_decls(&i.args)
                .iter()
                .any(|(n, v)| n == "PIP_NO_CACHE_DIR" && v.is_some()),
            _ => false,
        })
        .map(|(idx, i)| (idx, i.stage))
        .collect()
}

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    let shipped = image_stages(df);
    let pip_settings = pip_no_cache_settings(df);
    for (idx, inst) in df.instructions.iter().enumerate() {
        let Some(run) = run_like(inst) else {
            continue;
        };
        if !shipped.contains(&inst.stage) || uses_cache_mount(&run) {
            continue;
        }
        let script = run_text(&run).script;
        let cmds = commands(&script);
        let stages = ancestry(df, inst.stage);
        // Set by ENV or ARG before this RUN, in its stage or a stage it is built from.
        let pip_env = pip_settings
            .iter()
            .any(|(at, stage)| *at < idx && stages.contains(stage));
        let mut reported: Vec<Manager> = Vec::new();
        for install in cmds.iter().filter_map(|c| install_of(c)) {
            if reported.contains(&install.manager) || cleaned(&install, &cmds, &script, pip_env) {
                continue;
            }
            reported.push(install.manager);
            out.push(Hit::new(message(&install), inst.span()));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn caches_left_behind() {
        assert_df(
            &super::RULE,
            r#"FROM debian:12
RUN apt-get update && apt-get install -y curl
RUN apt-get update && apt-get install -y git && apt-get clean
RUN apk add bash && apk add curl
RUN dnf install -y httpd && yum clean metadata
RUN pip install flask && python3 -m pip install gunicorn
"#,
            &[
                (
                    2,
                    "apt-get install leaves the package lists in the layer; add \"rm -rf /var/lib/apt/lists/*\" to the same RUN",
                ),
                (
                    3,
                    "apt-get install leaves the package lists in the layer; add \"rm -rf /var/lib/apt/lists/*\" to the same RUN",
                ),
                (
                    4,
                    "apk add without --no-cache leaves the package index in the layer",
                ),
                (
                    5,
                    "dnf install without \"dnf clean all\" in the same RUN leaves the package cache in the layer",
                ),
                (
                    6,
                    "pip install without --no-cache-dir leaves the download cache in the layer",
                ),
            ],
        );
    }

    #[test]
    fn cleaned_up_or_cached_or_not_shipped() {
        assert_df(
            &super::RULE,
            r#"FROM python:3.12 AS build
RUN pip install build && apt-get update && apt-get install -y gcc
FROM debian:12 AS base
ENV PIP_NO_CACHE_DIR=1
FROM base
RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
RUN apk add --no-cache bash && apk add curl && rm -rf /var/cache/apk/*
RUN yum install -y httpd && yum clean all
RUN --mount=type=cache,target=/root/.cache/pip pip install flask
RUN pip install flask gunicorn
RUN PIP_NO_CACHE_DIR=off pip3 install x
"#,
            &[],
        );
    }
}
