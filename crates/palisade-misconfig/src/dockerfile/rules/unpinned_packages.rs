use palisade_core::{RuleMeta, Scanner, Severity};

use super::packages::{install_of, unpinned};
use super::util::{run_like, run_text, short_list};
use crate::dockerfile::Dockerfile;
use crate::dockerfile::shell::commands;
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-008",
        title: "Packages installed without version pins",
        severity: Severity::Low,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &[],
        fix: "Pin each package to a version (`curl=7.88.1-10+deb12u5`, `flask==3.0.3`, `typescript@5.4.5`), or install from a lock file.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `RUN` steps that install packages without a version: `apt-get`/`apt install pkg`
(no `=version`), `apk add pkg` (no `=`/`~` constraint), `yum`/`dnf install pkg` (no
`-version`), `pip install pkg` (no `==`), `gem install pkg` (no `-v` or `pkg:version`) and
global `npm install -g pkg` (no `@version`). Requirement files, local paths, URLs and
variables are not reported. One finding lists the unpinned packages of each `RUN`.

## Why is this bad?
Without a pin, each build installs whatever the repository serves that day. A rebuild for
an unrelated change can pull in a new major version that breaks the application, or a
freshly published malicious release of a hijacked package, and nothing in the Dockerfile or
its history shows that anything changed. Pinned versions make builds repeatable, make
upgrades reviewable changes, and let scanners map the image back to known versions.

## Example
```dockerfile
FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && \
    rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir flask gunicorn
```

## Use instead
```dockerfile
FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5=15.8-0+deb12u1 && \
    rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir flask==3.0.3 gunicorn==22.0.0
```

## References
- [Docker build best practices: apt-get](https://docs.docker.com/build/building/best-practices/#apt-get)
- [pip: Repeatable installs](https://pip.pypa.io/en/stable/topics/repeatable-installs/)
"#;

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in &df.instructions {
        let Some(run) = run_like(inst) else {
            continue;
        };
        let mut found: Vec<String> = Vec::new();
        for cmd in commands(&run_text(&run).script) {
            if let Some(install) = install_of(&cmd) {
                for p in unpinned(&install) {
                    if !found.contains(&p) {
                        found.push(p);
                    }
                }
            }
        }
        if found.is_empty() {
            continue;
        }
        let what = if found.len() == 1 {
            "1 package".to_string()
        } else {
            format!("{} packages", found.len())
        };
        out.push(Hit::new(
            format!(
                "RUN installs {what} without a version pin: {}",
                short_list(&found, 5)
            ),
            inst.span(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn unpinned_installs_are_listed_per_run() {
        assert_df(
            &super::RULE,
            r#"FROM debian:12
RUN apt-get update && apt-get install -y \
      curl git=1:2.39.2-1.1 vim jq make gcc wget && \
    rm -rf /var/lib/apt/lists/*
RUN pip3 install --no-cache-dir -r requirements.txt requests && pip install requests
RUN npm install -g pnpm && apk add --no-cache tzdata
"#,
            &[
                (
                    2,
                    "RUN installs 6 packages without a version pin: curl, vim, jq, make, gcc and 1 more",
                ),
                (5, "RUN installs 1 package without a version pin: requests"),
                (
                    6,
                    "RUN installs 2 packages without a version pin: pnpm, tzdata",
                ),
            ],
        );
    }

    #[test]
    fn pinned_and_local_installs_are_fine() {
        assert_df(
            &super::RULE,
            r#"FROM debian:12
RUN apt-get install -y curl=7.88.1-10+deb12u5 ./local.deb ${EXTRA_PACKAGES}
RUN pip install -r requirements.txt . -e ./lib flask==3.0.3
RUN gem install bundler -v 2.5.6 && npm ci && npm install
RUN yum install -y httpd-2.4.6-97.el7 && apk add musl=1.2.4-r2
RUN <<EOF
apt-get install -y nginx=1.22.1-9
EOF
"#,
            &[],
        );
    }
}
