use palisade_core::{RuleMeta, Scanner, Severity};

use super::util::{is_inert_value, is_secret_name, is_var_ref};
use crate::dockerfile::{Dockerfile, parse_arg_decls};
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-006",
        title: "Secret in build ARG",
        severity: Severity::Medium,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &["cis:4.10", "nsa:secrets"],
        fix: "Pass the credential as a BuildKit secret (`docker build --secret id=…` and `RUN --mount=type=secret,id=…`) instead of a build argument.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `ARG` declarations whose name looks like a credential (`*PASSWORD*`, `*SECRET*`,
`*TOKEN*`, `*API_KEY*`, `*PRIVATE_KEY*`, `*ACCESS_KEY*`, `*CREDENTIALS*`, `*_AUTH`), with
or without a default value. Names such as `*_FILE`, `*_PATH` or `*_URL` are not reported,
nor defaults that are plainly not secrets (`true`, a file path).

## Why is this bad?
Build arguments are not secret. Every `RUN` after the `ARG` records the argument's value in
the image history (`docker history --no-trunc` shows `|1 NPM_TOKEN=… /bin/sh -c …`), so the
token ships to everyone who can pull the image, and it also lands in build logs and caches.
A default value is worse still: it is in the Dockerfile itself, in version control.

## Example
```dockerfile
FROM node:20-slim
ARG NPM_TOKEN
RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > ~/.npmrc && \
    npm ci && rm ~/.npmrc
```

## Use instead
```dockerfile
# syntax=docker/dockerfile:1
FROM node:20-slim
# docker build --secret id=npmrc,src=$HOME/.npmrc .
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci
```

## References
- [Docker build secrets](https://docs.docker.com/build/building/secrets/)
- [Dockerfile reference: RUN --mount=type=secret](https://docs.docker.com/reference/dockerfile/#run---mounttypesecret)
- [Dockerfile reference: ARG](https://docs.docker.com/reference/dockerfile/#arg)
- CIS Docker Benchmark 4.10, "Ensure secrets are not stored in Dockerfiles"
"#;

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in df.instructions.iter().filter(|i| i.keyword == "ARG") {
        for (name, default) in parse_arg_decls(&inst.args) {
            if !is_secret_name(&name) {
                continue;
            }
            let literal = default
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty() && !is_var_ref(v));
            let msg = match literal {
                Some(v) if is_inert_value(v) => continue,
                Some(_) => format!(
                    "build argument {name:?} has a literal default value; build arguments are recorded in the image history"
                ),
                None => format!(
                    "build argument {name:?} looks like a secret; build arguments are recorded in the image history"
                ),
            };
            out.push(Hit::new(msg, inst.span()).sensitive());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn secret_like_build_args() {
        assert_df(
            &super::RULE,
            "ARG GITHUB_TOKEN\nFROM a:1\nARG DB_PASSWORD=changeme VERSION=1.0\nARG AWS_SECRET_ACCESS_KEY=\nARG API_TOKEN=${GLOBAL_TOKEN}\n",
            &[
                (
                    1,
                    "build argument \"GITHUB_TOKEN\" looks like a secret; build arguments are recorded in the image history",
                ),
                (
                    3,
                    "build argument \"DB_PASSWORD\" has a literal default value; build arguments are recorded in the image history",
                ),
                (
                    4,
                    "build argument \"AWS_SECRET_ACCESS_KEY\" looks like a secret; build arguments are recorded in the image history",
                ),
                (
                    5,
                    "build argument \"API_TOKEN\" looks like a secret; build arguments are recorded in the image history",
                ),
            ],
        );
    }

    #[test]
    fn harmless_args() {
        assert_df(
            &super::RULE,
            "FROM a:1\nARG VERSION\nARG TOKEN_FILE=/run/secrets/token\nARG SKIP_AUTH=false\nARG TOKENIZERS_PARALLELISM\n",
            &[],
        );
    }
}
