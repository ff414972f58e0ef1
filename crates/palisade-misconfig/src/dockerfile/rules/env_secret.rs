use palisade_core::{RuleMeta, Scanner, Severity};

use super::util::{is_inert_value, is_secret_name};
use crate::dockerfile::{Dockerfile, parse_env_pairs};
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-005",
        title: "Secret in ENV",
        severity: Severity::High,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &["cis:4.10", "nsa:secrets"],
        fix: "Remove the value from the Dockerfile: pass it at run time (orchestrator secret, mounted file) or, for build steps, use `RUN --mount=type=secret`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `ENV` instructions that give a credential-like variable (`*PASSWORD*`, `*SECRET*`,
`*TOKEN*`, `*API_KEY*`, `*PRIVATE_KEY*`, `*ACCESS_KEY*`, `*CREDENTIALS*`, `*_AUTH`) a
literal value. Names that describe a secret rather than hold it (`*_FILE`, `*_PATH`,
`*_DIR`, `*_URL`, `*_NAME`, `*_LENGTH`, …), empty values, booleans, file paths and bare
`$VAR` references are not reported. The value itself is never printed.

## Why is this bad?
`ENV` values are stored in the image configuration. Anyone who can pull the image reads
them with `docker inspect` or `docker history`, and they are copied into every container's
environment, where crash dumps, debug endpoints and `/proc/<pid>/environ` expose them
again. Removing the line later does not help for images already pushed, and the secret
cannot be rotated without rebuilding.

## Example
```dockerfile
FROM node:20-slim
ENV DATABASE_PASSWORD=s3cr3t-pa55
COPY . /app
CMD ["node", "/app/server.js"]
```

## Use instead
```dockerfile
FROM node:20-slim
# The password is supplied at run time, e.g. from a Kubernetes Secret mounted as a file.
ENV DATABASE_PASSWORD_FILE=/run/secrets/db-password
COPY . /app
CMD ["node", "/app/server.js"]
```

## References
- [Dockerfile reference: ENV](https://docs.docker.com/reference/dockerfile/#env)
- [Docker build secrets](https://docs.docker.com/build/building/secrets/)
- CIS Docker Benchmark 4.10, "Ensure secrets are not stored in Dockerfiles"
- NSA/CISA Kubernetes Hardening Guide, "Secrets"
"#;

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in df.instructions.iter().filter(|i| i.keyword == "ENV") {
        for (name, value) in parse_env_pairs(&inst.args) {
            if is_secret_name(&name) && !is_inert_value(&value) {
                out.push(Hit::new(
                    format!(
                        "ENV sets {name:?} to a literal value, which is stored in the image configuration"
                    ),
                    inst.span(),
                ).sensitive());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn literal_secrets() {
        assert_df(
            &super::RULE,
            "FROM a:1\nENV DB_PASSWORD=hunter2 LOG_LEVEL=info \\\n    API_KEY=\"abc def\"\nENV GITHUB_TOKEN ghp_123\n",
            &[
                (
                    2,
                    "ENV sets \"DB_PASSWORD\" to a literal value, which is stored in the image configuration",
                ),
                (
                    2,
                    "ENV sets \"API_KEY\" to a literal value, which is stored in the image configuration",
                ),
                (
                    4,
                    "ENV sets \"GITHUB_TOKEN\" to a literal value, which is stored in the image configuration",
                ),
            ],
        );
    }

    #[test]
    fn references_paths_and_harmless_names() {
        assert_df(
            &super::RULE,
            "FROM a:1\nARG NPM_TOKEN\nENV NPM_TOKEN=${NPM_TOKEN} PASSWORD_FILE=/run/secrets/pw\nENV TOKENIZERS_PARALLELISM=false AUTH_ENABLED=true DB_PASSWORD=\nENV GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/google/key.json\n",
            &[],
        );
    }
}
