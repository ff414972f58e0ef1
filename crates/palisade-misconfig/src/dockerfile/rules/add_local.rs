use palisade_core::{RuleMeta, Scanner, Severity};

use super::add_url::is_url;
use super::util::{copy_sources, short_list};
use crate::dockerfile::Dockerfile;
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-004",
        title: "ADD used for local files or archives",
        severity: Severity::Low,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &["cis:4.9"],
        fix: "Use COPY for files from the build context; to unpack an archive, COPY it and extract it with tar in a RUN step.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `ADD` instructions that copy files from the build context (or another stage) instead
of downloading them. Remote URLs are the subject of PAL-DF-003.

## Why is this bad?
`ADD` does more than copy: a local `.tar`, `.tar.gz`, `.tar.xz` or `.tar.bz2` source is
silently unpacked into the image. A file that happens to be an archive, or an archive
crafted with unexpected paths or links, then changes the image in ways the Dockerfile does
not show. `COPY` does exactly one thing, which makes the Dockerfile's effect obvious to
reviewers and tools.

## Example
```dockerfile
FROM alpine:3.20
ADD config/ /etc/myapp/
ADD rootfs.tar.gz /
```

## Use instead
```dockerfile
FROM alpine:3.20
COPY config/ /etc/myapp/
COPY rootfs.tar.gz /tmp/
RUN tar -xzf /tmp/rootfs.tar.gz -C / && rm /tmp/rootfs.tar.gz
```

## References
- [Dockerfile reference: ADD](https://docs.docker.com/reference/dockerfile/#add)
- [Docker build best practices: ADD or COPY](https://docs.docker.com/build/building/best-practices/#add-or-copy)
- CIS Docker Benchmark 4.9, "Ensure that COPY is used instead of ADD in Dockerfiles"
"#;

fn is_archive(src: &str) -> bool {
    let lower = src.to_ascii_lowercase();
    [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
}

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in df.instructions.iter().filter(|i| i.keyword == "ADD") {
        let local: Vec<String> = copy_sources(inst)
            .into_iter()
            .filter(|s| !is_url(s) && !s.starts_with("git@"))
            .map(|s| format!("\"{s}\""))
            .collect();
        let heredoc = !inst.heredocs.is_empty();
        if local.is_empty() && !heredoc {
            continue;
        }
        let msg = if let Some(a) = local.iter().find(|s| is_archive(s.trim_matches('"'))) {
            format!(
                "ADD unpacks the local archive {a} into the image; use COPY, and extract it explicitly if that is intended"
            )
        } else if local.is_empty() {
            "ADD writes a heredoc; use COPY".to_string()
        } else {
            format!("ADD copies local {}; use COPY", short_list(&local, 3))
        };
        out.push(Hit::new(msg, inst.span()));
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn local_sources() {
        assert_df(
            &super::RULE,
            "FROM a:1\nADD . /app\nADD a b c d /dst/\nADD --chown=app rootfs.tar.xz /\nADD <<EOF /etc/motd\nhi\nEOF\nADD [\"my file.txt\", \"/x\"]\n",
            &[
                (2, "ADD copies local \".\"; use COPY"),
                (
                    3,
                    "ADD copies local \"a\", \"b\", \"c\" and 1 more; use COPY",
                ),
                (
                    4,
                    "ADD unpacks the local archive \"rootfs.tar.xz\" into the image; use COPY, and extract it explicitly if that is intended",
                ),
                (5, "ADD writes a heredoc; use COPY"),
                (8, "ADD copies local \"my file.txt\"; use COPY"),
            ],
        );
    }

    #[test]
    fn remote_sources_and_copy_are_fine() {
        assert_df(
            &super::RULE,
            "FROM a:1\nADD https://example.com/x.tar.gz /x\nADD git@github.com:moby/buildkit.git /src\nCOPY a.tar.gz /\n",
            &[],
        );
    }
}
