use palisade_core::{RuleMeta, Scanner, Severity};

use super::util::ancestry;
use crate::dockerfile::Dockerfile;
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-011",
        title: "No HEALTHCHECK",
        severity: Severity::Low,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &["cis:4.6"],
        fix: "Add a `HEALTHCHECK CMD …` that probes the service, or `HEALTHCHECK NONE` if the image deliberately has none (e.g. it only runs under Kubernetes probes).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags a final build stage that has no `HEALTHCHECK` instruction, neither itself nor in an
earlier stage it is built `FROM`. An explicit `HEALTHCHECK NONE` counts as a deliberate
choice and is not reported. A health check inherited from an external base image cannot be
seen in the Dockerfile and is not taken into account.

## Why is this bad?
Without a health check, Docker and Swarm only know whether the process is running, not
whether it works: a server that is deadlocked, has lost its database connection or stopped
accepting requests keeps receiving traffic and is never restarted. Kubernetes ignores
`HEALTHCHECK` and uses liveness and readiness probes instead; for images that only run
there, `HEALTHCHECK NONE` documents that decision.

## Example
```dockerfile
FROM nginx:1.27-alpine
COPY site/ /usr/share/nginx/html/
```

## Use instead
```dockerfile
FROM nginx:1.27-alpine
COPY site/ /usr/share/nginx/html/
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
  CMD wget -q --spider http://127.0.0.1/ || exit 1
```

## References
- [Dockerfile reference: HEALTHCHECK](https://docs.docker.com/reference/dockerfile/#healthcheck)
- CIS Docker Benchmark 4.6, "Ensure that HEALTHCHECK instructions have been added to container images"
"#;

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    let Some(last) = df.final_stage() else {
        return;
    };
    let stages = ancestry(df, last);
    let has_healthcheck = df
        .instructions
        .iter()
        .any(|i| i.keyword == "HEALTHCHECK" && stages.contains(&i.stage));
    if !has_healthcheck {
        let from = &df.instructions[df.stages[last].from_index];
        out.push(Hit::new(
            "the final stage defines no HEALTHCHECK",
            from.span(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn missing_healthcheck_in_final_stage() {
        assert_df(
            &super::RULE,
            "FROM golang:1.22 AS build\nHEALTHCHECK CMD true\nFROM alpine:3.20\nCOPY --from=build /app /app\n",
            &[(3, "the final stage defines no HEALTHCHECK")],
        );
    }

    #[test]
    fn own_inherited_or_disabled_healthcheck() {
        assert_df(
            &super::RULE,
            "FROM alpine:3.20\nHEALTHCHECK --interval=5s CMD wget -q --spider http://localhost/\n",
            &[],
        );
        assert_df(
            &super::RULE,
            "FROM alpine:3.20 AS base\nHEALTHCHECK CMD true\nFROM base\nRUN x\n",
            &[],
        );
        assert_df(&super::RULE, "FROM alpine:3.20\nHEALTHCHECK NONE\n", &[]);
    }
}
