use palisade_core::{RuleMeta, Scanner, Severity};

use super::util::{copy_sources, redact_url};
use crate::dockerfile::Dockerfile;
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-003",
        title: "ADD downloads from a URL",
        severity: Severity::Medium,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &["cis:4.9", "cis:4.11"],
        fix: "Add `--checksum=sha256:<digest>` to the ADD, or download with curl in a RUN step and verify the file with `sha256sum -c`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `ADD` instructions that fetch an `http://` or `https://` source without the
`--checksum` flag.

## Why is this bad?
The build trusts whatever the server returns at build time. If the file is replaced
upstream, the download host or a mirror is compromised, or (for `http://`) the traffic is
intercepted, the tampered file goes straight into the image and nothing fails. Builds are
also not reproducible, because the same URL can serve different content tomorrow.

## Example
```dockerfile
FROM debian:12-slim
ADD https://github.com/krallin/tini/releases/download/v0.19.0/tini /usr/local/bin/tini
RUN chmod +x /usr/local/bin/tini
```

## Use instead
```dockerfile
# syntax=docker/dockerfile:1
FROM debian:12-slim
ADD --checksum=sha256:93dcc18adc78c65a028a84799ecf8ad40c936fdfc5f2a57b1acda5a8117fa82c \
    https://github.com/krallin/tini/releases/download/v0.19.0/tini /usr/local/bin/tini
RUN chmod +x /usr/local/bin/tini
```

## References
- [Dockerfile reference: ADD --checksum](https://docs.docker.com/reference/dockerfile/#add---checksum)
- CIS Docker Benchmark 4.9, "Ensure that COPY is used instead of ADD in Dockerfiles"
- CIS Docker Benchmark 4.11, "Ensure only verified packages are installed"
"#;

pub(super) fn is_url(src: &str) -> bool {
    let lower = src.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in df.instructions.iter().filter(|i| i.keyword == "ADD") {
        if inst.flag("checksum").is_some_and(|v| !v.is_empty()) {
            continue;
        }
        for src in copy_sources(inst).iter().filter(|s| is_url(s)) {
            out.push(Hit::new(
                format!("ADD downloads \"{}\" without --checksum", redact_url(src)),
                inst.span(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn url_sources_without_checksum() {
        assert_df(
            &super::RULE,
            "FROM a:1\nADD https://example.com/app.tar.gz /opt/\nADD --chown=1:1 [\"HTTP://u:pw@example.com/x\", \"/x\"]\n",
            &[
                (
                    2,
                    "ADD downloads \"https://example.com/app.tar.gz\" without --checksum",
                ),
                (
                    3,
                    "ADD downloads \"HTTP://***@example.com/x\" without --checksum",
                ),
            ],
        );
    }

    #[test]
    fn checksum_and_local_sources_are_fine() {
        assert_df(
            &super::RULE,
            "FROM a:1\nADD --checksum=sha256:24454f830c https://example.com/app.tar.gz /opt/\nADD app.tar.gz /opt/\nCOPY https://example.com/x /x\n",
            &[],
        );
    }
}
