use palisade_core::{RuleMeta, Scanner, Severity};

use crate::dockerfile::Dockerfile;
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-001",
        title: "Image runs as root",
        severity: Severity::High,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &["cis:4.1", "nsa:non-root-containers"],
        fix: "Create an unprivileged user and add `USER <name or uid>` as the last USER instruction of the final stage.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags a final build stage that never sets `USER`, or whose last `USER` is `root` (or UID 0).

## Why is this bad?
Without `USER`, the image's process runs as root unless the platform overrides it. Root in
a container is root on the host's kernel: any container escape, writable host mount or
kernel bug then has full privileges. Images that declare an unprivileged user also pass
`runAsNonRoot: true`, which the Restricted Pod Security Standard requires.

## Example
```dockerfile
FROM debian:12-slim
COPY app /usr/local/bin/app
CMD ["app"]
```

## Use instead
```dockerfile
FROM debian:12-slim
RUN useradd --system --uid 10001 app
COPY app /usr/local/bin/app
USER 10001
CMD ["app"]
```

## References
- [Dockerfile reference: USER](https://docs.docker.com/reference/dockerfile/#user)
- CIS Docker Benchmark 4.1, "Ensure that a user for the container has been created"
- [Pod Security Standards: Running as Non-root](https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)
"#;

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name == "root" || name == "0"
}

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    let Some(stage) = df.final_stage() else {
        return;
    };
    let from = &df.instructions[df.stages[stage].from_index];
    if df.stages[stage].image.eq_ignore_ascii_case("scratch") {
        // A scratch image has no user database; USER with a numeric id still applies, so
        // the check stays, but only a root USER is reported.
        if let Some(u) = df
            .stage_instructions(stage)
            .filter(|i| i.keyword == "USER")
            .last()
            && is_root(&u.args)
        {
            out.push(Hit::new("the final stage's last USER is root", u.span()));
        }
        return;
    }
    match df
        .stage_instructions(stage)
        .filter(|i| i.keyword == "USER")
        .last()
    {
        None => out.push(Hit::new(
            "the final stage sets no USER, so the image runs as root",
            from.span(),
        )),
        Some(u) if is_root(&u.args) => out.push(Hit::new(
            format!("the final stage's last USER is {}", u.args.trim()),
            u.span(),
        )),
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn missing_or_root_user_in_final_stage() {
        assert_df(
            &super::RULE,
            "FROM a\nRUN x\n",
            &[(1, "the final stage sets no USER, so the image runs as root")],
        );
        assert_df(
            &super::RULE,
            "FROM a\nUSER app\nFROM b\nUSER 0:0\n",
            &[(4, "the final stage's last USER is 0:0")],
        );
        assert_df(
            &super::RULE,
            "FROM a AS build\nFROM b\nUSER root\nRUN x\nUSER 10001\n",
            &[],
        );
        assert_df(&super::RULE, "FROM scratch\nCOPY app /\n", &[]);
    }
}
