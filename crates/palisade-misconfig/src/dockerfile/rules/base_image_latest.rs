use palisade_core::{RuleMeta, Scanner, Severity};

use super::util::parent_stage;
use crate::dockerfile::Dockerfile;
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-002",
        title: "Base image uses latest or no tag",
        severity: Severity::Medium,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &["nsa:image-scanning"],
        fix: "Pin the base image to a specific version tag, and preferably to a digest (`image:1.2.3@sha256:…`).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `FROM` instructions whose image has no tag or the `latest` tag and no digest. Global
`ARG` defaults are expanded first; images that still contain a variable, `scratch`, and
references to earlier build stages (`FROM build`) are skipped.

## Why is this bad?
`latest` (which is what a missing tag means) moves whenever the publisher pushes. Two builds
of the same Dockerfile can then start from different operating systems, library versions
or even a compromised upload, and a vulnerability scan of yesterday's image says nothing
about today's. Rollbacks stop being reproducible because the old base is gone.

## Example
```dockerfile
FROM python
COPY app.py /app/
CMD ["python", "/app/app.py"]
```

## Use instead
```dockerfile
# Adding the digest (python:3.12.4-slim-bookworm@sha256:<digest>) pins it exactly.
FROM python:3.12.4-slim-bookworm
COPY app.py /app/
CMD ["python", "/app/app.py"]
```

## References
- [Dockerfile reference: FROM](https://docs.docker.com/reference/dockerfile/#from)
- [Docker build best practices: pin base image versions](https://docs.docker.com/build/building/best-practices/#pin-base-image-versions)
- NSA/CISA Kubernetes Hardening Guide, "Container image scanning"
"#;

/// The tag of an image reference (`registry:5000/app:1.0` → `1.0`), ignoring a port.
fn tag(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, t)| t)
}

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for (i, stage) in df.stages.iter().enumerate() {
        let written = stage.image.as_str();
        let image = df.expand_global(written);
        if image.is_empty()
            || image.contains('$')
            || image.eq_ignore_ascii_case("scratch")
            || image.contains('@')
            || parent_stage(df, i).is_some()
        {
            continue;
        }
        let via = if image == written {
            String::new()
        } else {
            format!(" (from {written:?})")
        };
        let msg = match tag(&image) {
            None => format!("base image \"{image}\"{via} has no tag, so it means \"latest\""),
            Some(t) if t.eq_ignore_ascii_case("latest") => {
                format!("base image \"{image}\"{via} uses the latest tag")
            }
            Some(_) => continue,
        };
        let from = &df.instructions[stage.from_index];
        out.push(Hit::new(msg, from.span()));
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn untagged_and_latest_images() {
        assert_df(
            &super::RULE,
            "FROM ubuntu\nFROM node:latest AS web\nFROM registry:5000/team/app\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\n",
            &[
                (
                    1,
                    "base image \"ubuntu\" has no tag, so it means \"latest\"",
                ),
                (2, "base image \"node:latest\" uses the latest tag"),
                (
                    3,
                    "base image \"registry:5000/team/app\" has no tag, so it means \"latest\"",
                ),
            ],
        );
    }

    #[test]
    fn global_args_are_expanded() {
        assert_df(
            &super::RULE,
            "ARG BASE=alpine\nARG TAG\nFROM ${BASE}\nFROM alpine:${TAG}\nFROM ${UNKNOWN:-debian}:12\n",
            &[(
                3,
                "base image \"alpine\" (from \"${BASE}\") has no tag, so it means \"latest\"",
            )],
        );
    }

    #[test]
    fn stages_scratch_and_digests_are_fine() {
        assert_df(
            &super::RULE,
            "FROM golang:1.22 AS Build\nFROM build AS test\nFROM scratch\nCOPY --from=build /app /\nFROM alpine@sha256:abc\nFROM localhost:5000/app:1.0\n",
            &[],
        );
        // A stage name is only a stage when it was defined before.
        assert_df(
            &super::RULE,
            "FROM app\nFROM alpine:3.20 AS app\n",
            &[(1, "base image \"app\" has no tag, so it means \"latest\"")],
        );
    }
}
