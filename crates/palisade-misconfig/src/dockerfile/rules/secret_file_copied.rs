use palisade_core::{RuleMeta, Scanner, Severity};

use super::util::copy_sources;
use crate::dockerfile::Dockerfile;
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-014",
        title: "Secret file copied into the image",
        severity: Severity::High,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &["cis:4.10", "nsa:secrets"],
        fix: "Do not COPY credentials: mount them for the one step that needs them (`RUN --mount=type=secret` or `--mount=type=ssh`), provide them at run time, and list them in .dockerignore.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `COPY` and `ADD` sources that name credential files: `.env` and `.env.*` (except
`.env.example`, `.env.sample`, `.env.template`, `.env.dist`), SSH private keys (`id_rsa`,
`id_ecdsa`, `id_ed25519`, `id_dsa`), `.ssh` directories and the files in them (other than
`known_hosts`, `authorized_keys`, `config` and `*.pub`), private keys and key stores
(`*.key`, `*.pem`, `*.p12`, `*.pfx`; certificate-only names such as `ca.pem` or
`cert.pem` are skipped), `.aws/credentials`, `.npmrc`, `.pypirc`, `.netrc`,
`.git-credentials`, `.docker/config.json` and kubeconfig files. Copies from another build
stage (`COPY --from=`) are reported too: the file still ends up in the image.

## Why is this bad?
Everything copied into a layer stays in the image, even if a later step deletes it, and
anyone who can pull the image can extract it with `docker save` or a registry client.
Leaked SSH keys, cloud credentials, registry tokens and kubeconfigs give direct access to
the systems behind them, and images are pushed to registries and caches far more widely
than source code.

## Example
```dockerfile
FROM node:20-slim
WORKDIR /app
COPY .npmrc package.json package-lock.json ./
RUN npm ci
COPY . .
```

## Use instead
```dockerfile
# syntax=docker/dockerfile:1
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
# docker build --secret id=npmrc,src=$HOME/.npmrc .
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci
COPY . .
```

## References
- [Docker build secrets](https://docs.docker.com/build/building/secrets/)
- [.dockerignore files](https://docs.docker.com/build/concepts/context/#dockerignore-files)
- CIS Docker Benchmark 4.10, "Ensure secrets are not stored in Dockerfiles"
"#;

/// Name parts that mean a `.pem`/`.key` file holds something public.
const PUBLIC_PARTS: &[&str] = &[
    "ca",
    "cacert",
    "cacerts",
    "cert",
    "certs",
    "certificate",
    "crt",
    "chain",
    "fullchain",
    "bundle",
    "root",
    "rootca",
    "intermediate",
    "pub",
    "public",
    "pubkey",
    "signing",
    "gpg",
    "keyring",
    "archive",
    "release",
    "repo",
];

/// Name parts that mean a file holds a private key, whatever else the name says.
const PRIVATE_PARTS: &[&str] = &["key", "private", "privkey", "priv", "secret"];

/// What kind of credential a source path names, if any.
fn secret_kind(src: &str) -> Option<&'static str> {
    let path = src.trim_end_matches('/').to_ascii_lowercase();
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let base = *parts.last()?;
    let parent = parts.len().checked_sub(2).map(|i| parts[i]);
    if base == ".ssh" {
        return Some("an SSH directory");
    }
    if matches!(
        base,
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | "id_ecdsa_sk" | "id_ed25519_sk"
    ) {
        return Some("an SSH private key");
    }
    if parts.contains(&".ssh")
        && !matches!(
            base,
            "known_hosts" | "known_hosts2" | "authorized_keys" | "config"
        )
        && !base.ends_with(".pub")
    {
        return Some("a file from an SSH directory");
    }
    if base == ".env" || base.starts_with(".env.") {
        let suffix = &base[4..];
        return (!matches!(suffix, ".example" | ".sample" | ".template" | ".dist"))
            .then_some("a dotenv file");
    }
    if base == ".aws" || (parent == Some(".aws") && base == "credentials") {
        return Some("AWS credentials");
    }
    if base == ".docker" || (parent == Some(".docker") && base == "config.json") {
        return Some("Docker registry credentials");
    }
    if base == "kubeconfig"
        || base.ends_with(".kubeconfig")
        || (parent == Some(".kube") && base == "config")
        || base == ".kube"
    {
        return Some("a kubeconfig");
    }
    match base {
        ".npmrc" => return Some("an npm config that can hold registry tokens"),
        ".pypirc" => return Some("PyPI credentials"),
        ".netrc" | "_netrc" => return Some("a netrc credentials file"),
        ".git-credentials" => return Some("git credentials"),
        _ => {}
    }
    if base.ends_with(".p12") || base.ends_with(".pfx") {
        return Some("a PKCS#12 key store");
    }
    if let Some(stem) = base
        .strip_suffix(".key")
        .or_else(|| base.strip_suffix(".pem"))
    {
        let words: Vec<&str> = stem.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        let private = words.iter().any(|w| PRIVATE_PARTS.contains(w));
        let public = words.iter().any(|w| PUBLIC_PARTS.contains(w));
        return (private || !public).then_some("a private key");
    }
    None
}

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in df
        .instructions
        .iter()
        .filter(|i| i.keyword == "COPY" || i.keyword == "ADD")
    {
        for src in copy_sources(inst) {
            if src.contains("://") {
                continue;
            }
            if let Some(kind) = secret_kind(&src) {
                out.push(Hit::new(
                    format!("{} puts {src:?} ({kind}) into the image", inst.keyword),
                    inst.span(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::secret_kind;
    use crate::testing::assert_df;

    #[test]
    fn kinds() {
        for (src, kind) in [
            (".env", "a dotenv file"),
            ("config/.env.production", "a dotenv file"),
            ("id_ed25519", "an SSH private key"),
            ("~/.ssh/", "an SSH directory"),
            ("/root/.ssh/deploy_key", "a file from an SSH directory"),
            (".ssh/id_rsa", "an SSH private key"),
            ("tls/server.key", "a private key"),
            ("privkey.pem", "a private key"),
            ("server.pem", "a private key"),
            ("*.pem", "a private key"),
            ("cert-key.pem", "a private key"),
            ("client.p12", "a PKCS#12 key store"),
            (".aws/credentials", "AWS credentials"),
            (".docker/config.json", "Docker registry credentials"),
            ("deploy/prod.kubeconfig", "a kubeconfig"),
            (".kube/config", "a kubeconfig"),
            (".git-credentials", "git credentials"),
        ] {
            assert_eq!(secret_kind(src), Some(kind), "{src}");
        }
        for src in [
            ".env.example",
            ".env.sample",
            "ca.pem",
            "certs/fullchain.pem",
            "nginx_signing.key",
            "id_rsa.pub",
            ".ssh/known_hosts",
            "/home/app/.ssh/authorized_keys",
            ".ssh/id_ed25519.pub",
            "config.json",
            "environment.yml",
            ".envrc",
            "src/",
            "credentials",
        ] {
            assert_eq!(secret_kind(src), None, "{src}");
        }
    }

    #[test]
    fn copied_secret_files() {
        assert_df(
            &super::RULE,
            r#"FROM a:1
COPY .env package.json ./
ADD --chown=app ["id_rsa", "/home/app/.ssh/id_rsa"]
COPY --from=build /root/.npmrc /root/
COPY .env.example ca.pem ./
"#,
            &[
                (2, "COPY puts \".env\" (a dotenv file) into the image"),
                (3, "ADD puts \"id_rsa\" (an SSH private key) into the image"),
                (
                    4,
                    "COPY puts \"/root/.npmrc\" (an npm config that can hold registry tokens) into the image",
                ),
            ],
        );
    }
}
