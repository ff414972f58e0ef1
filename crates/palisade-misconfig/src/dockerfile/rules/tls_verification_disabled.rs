use palisade_core::{RuleMeta, Scanner, Severity};

use super::util::{run_like, run_text};
use crate::dockerfile::shell::{commands, pipelines, program};
use crate::dockerfile::{Dockerfile, parse_arg_decls, parse_env_pairs};
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-015",
        title: "TLS verification disabled for downloads",
        severity: Severity::Medium,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &["cis:4.11"],
        fix: "Remove the option that skips certificate checks; if a private CA is the reason, add its certificate to the trust store (`update-ca-certificates`) or point the tool at it (`--cacert`, `PIP_CERT`, `NODE_EXTRA_CA_CERTS`).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags build steps and settings that turn off TLS certificate verification:
`curl -k`/`--insecure`, `wget --no-check-certificate` (or `check_certificate = off`),
`pip --trusted-host` (and `PIP_TRUSTED_HOST`), npm/yarn `strict-ssl false` (and
`NPM_CONFIG_STRICT_SSL=false`), git `http.sslVerify false` and `GIT_SSL_NO_VERIFY`,
`NODE_TLS_REJECT_UNAUTHORIZED=0`, `PYTHONHTTPSVERIFY=0`, apt's
`Acquire::https::Verify-Peer`/`Verify-Host "false"` and yum/dnf `sslverify=0`. `RUN`
commands, configuration written from `RUN` or `COPY` heredocs, `ENV` and `ARG` defaults
are checked.

## Why is this bad?
Without certificate checks, HTTPS only encrypts: it no longer proves who is on the other
end. Anyone who can intercept the build machine's traffic (a compromised proxy, a hostile
network, DNS spoofing) can serve their own packages, scripts or binaries, and they are
built into the image without any error. Settings made with `ENV` also stay in the image and
weaken every connection the application makes at run time.

## Example
```dockerfile
FROM python:3.12-slim
RUN pip install --no-cache-dir --trusted-host pypi.org --trusted-host files.pythonhosted.org \
    requests==2.32.3
ENV NODE_TLS_REJECT_UNAUTHORIZED=0
```

## Use instead
```dockerfile
FROM python:3.12-slim
# A corporate proxy's CA, trusted explicitly instead of turning verification off.
COPY corp-root-ca.crt /usr/local/share/ca-certificates/
RUN update-ca-certificates
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN pip install --no-cache-dir requests==2.32.3
```

## References
- [curl: --insecure](https://curl.se/docs/manpage.html#-k)
- [pip: HTTPS certificates](https://pip.pypa.io/en/stable/topics/https-certificates/)
- [git-config: http.sslVerify](https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpsslVerify)
- [Node.js: NODE_TLS_REJECT_UNAUTHORIZED](https://nodejs.org/api/cli.html#node_tls_reject_unauthorizedvalue)
- CIS Docker Benchmark 4.11, "Ensure only verified packages are installed"
"#;

/// Short curl options that take a value: letters after them in a group are the value.
const CURL_VALUE_LETTERS: &str = "AbcCdDeEFHKmoOPQrtTuUwxXYyz";

fn is_false(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "false" | "0" | "no" | "off"
    )
}

/// The message for a `NAME=value` environment setting that turns verification off.
fn env_message(name: &str, value: &str) -> Option<String> {
    let msg = match name {
        "GIT_SSL_NO_VERIFY" => "GIT_SSL_NO_VERIFY disables TLS certificate verification for git",
        "NODE_TLS_REJECT_UNAUTHORIZED" if value.trim() == "0" => {
            "NODE_TLS_REJECT_UNAUTHORIZED=0 disables TLS certificate verification in Node.js"
        }
        "PYTHONHTTPSVERIFY" if value.trim() == "0" => {
            "PYTHONHTTPSVERIFY=0 disables TLS certificate verification in Python"
        }
        "PIP_TRUSTED_HOST" if !value.trim().is_empty() => {
            "PIP_TRUSTED_HOST disables TLS certificate verification for pip"
        }
        n if n.eq_ignore_ascii_case("npm_config_strict_ssl") && is_false(value) => {
            "NPM_CONFIG_STRICT_SSL=false disables TLS certificate verification for npm"
        }
        _ => return None,
    };
    Some(msg.to_string())
}

fn is_pip_command(cmd: &[String]) -> bool {
    let p = program(cmd);
    let pip = |w: &str| {
        w.strip_prefix("pip")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    pip(p)
        || (p.starts_with("python") && cmd.iter().any(|w| pip(w)))
        || (p == "uv" && cmd.get(1).is_some_and(|w| w == "pip"))
}

fn command_messages(cmd: &[String], msgs: &mut Vec<String>) {
    let prog = program(cmd);
    let args = cmd.get(1..).unwrap_or(&[]);
    if prog == "curl" {
        for w in args {
            if w == "--insecure" {
                msgs.push("curl --insecure disables TLS certificate verification".into());
            } else if w.len() > 1 && w.starts_with('-') && !w.starts_with("--") {
                for c in w[1..].chars() {
                    if c == 'k' {
                        msgs.push("curl -k disables TLS certificate verification".into());
                        break;
                    }
                    if CURL_VALUE_LETTERS.contains(c) {
                        break;
                    }
                }
            }
        }
    } else if prog == "wget" {
        if args.iter().any(|w| w == "--no-check-certificate") {
            msgs.push("wget --no-check-certificate disables TLS certificate verification".into());
        }
    } else if is_pip_command(cmd)
        && args.iter().any(|w| {
            w == "--trusted-host"
                || w.starts_with("--trusted-host=")
                || w.ends_with(".trusted-host")
        })
    {
        msgs.push(
            "pip trusted-host disables TLS certificate verification for the listed hosts".into(),
        );
    }
}

/// Where `key` occurs in `lower` followed by a false-like value (`key false`, `key=0`,
/// `key "false"`): the start of each such occurrence.
fn keys_set_false(lower: &str, key: &str) -> Vec<usize> {
    lower
        .match_indices(key)
        .filter(|(pos, _)| {
            let after = &lower[pos + key.len()..];
            let v = after.trim_start_matches([' ', '\t', '=', '"', '\'', '\\', ':']);
            let end = v
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(v.len());
            // The key must end there: `sslverify` but not `sslverifyx`.
            !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && is_false(&v[..end])
        })
        .map(|(pos, _)| pos)
        .collect()
}

/// Settings written as text: command options, or configuration files from heredocs.
fn text_messages(text: &str, msgs: &mut Vec<String>) {
    let lower = text.to_ascii_lowercase();
    for key in ["strict-ssl", "enablestrictssl"] {
        if !keys_set_false(&lower, key).is_empty() {
            msgs.push("npm/yarn strict-ssl=false disables TLS certificate verification".into());
        }
    }
    for pos in keys_set_false(&lower, "sslverify") {
        let before = &lower[..pos];
        let word_start = before
            .rfind(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .map_or(0, |p| p + 1);
        let git = before[word_start..].starts_with("http.") || before.contains("[http");
        msgs.push(if git {
            "git http.sslVerify=false disables TLS certificate verification".into()
        } else {
            "sslverify=0 disables TLS certificate verification for yum/dnf".into()
        });
    }
    for key in ["verify-peer", "verify-host"] {
        for pos in keys_set_false(&lower, key) {
            let word_start = lower[..pos]
                .rfind(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                .map_or(0, |p| p + 1);
            if lower[word_start..pos].starts_with("acquire::https") {
                let name = if key == "verify-peer" {
                    "Verify-Peer"
                } else {
                    "Verify-Host"
                };
                msgs.push(format!(
                    "apt Acquire::https::{name}=false disables TLS certificate verification"
                ));
            }
        }
    }
    if !keys_set_false(&lower, "check_certificate").is_empty() {
        msgs.push("wget check_certificate=off disables TLS certificate verification".into());
    }
    for line in lower.lines() {
        let l = line.trim_start();
        if let Some(rest) = l.strip_prefix("trusted-host")
            && rest.trim_start().starts_with('=')
        {
            msgs.push(
                "pip trusted-host disables TLS certificate verification for the listed hosts"
                    .into(),
            );
        }
    }
}

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in &df.instructions {
        let mut msgs: Vec<String> = Vec::new();
        if let Some(run) = run_like(inst) {
            let rt = run_text(&run);
            for cmd in commands(&rt.script) {
                command_messages(&cmd, &mut msgs);
            }
            // `VAR=x cmd`, `export VAR=x`, `env VAR=x cmd`.
            for word in pipelines(&rt.script).iter().flatten().flatten() {
                if let Some((n, v)) = word.split_once('=')
                    && let Some(m) = env_message(n, v)
                {
                    msgs.push(m);
                }
            }
            text_messages(&rt.text, &mut msgs);
        }
        match inst.keyword.as_str() {
            "COPY" | "ADD" => {
                for body in &inst.heredocs {
                    text_messages(body, &mut msgs);
                }
            }
            "ENV" => {
                for (n, v) in parse_env_pairs(&inst.args) {
                    msgs.extend(env_message(&n, &v));
                }
            }
            "ARG" => {
                for (n, v) in parse_arg_decls(&inst.args) {
                    if let Some(v) = v {
                        msgs.extend(env_message(&n, &v));
                    }
                }
            }
            _ => {}
        }
        let mut seen: Vec<String> = Vec::new();
        for m in msgs {
            if !seen.contains(&m) {
                out.push(Hit::new(m.clone(), inst.span()));
                seen.push(m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn download_tools() {
        assert_df(
            &super::RULE,
            r#"FROM a:1
RUN curl -fsSLk https://x.example/a -o a && curl --insecure https://x.example/b
RUN wget --no-check-certificate -qO- https://x.example/c | tar -x
RUN pip install --trusted-host pypi.org flask==3.0.3 && python3 -m pip config set global.trusted-host x
RUN npm config set strict-ssl false && yarn config set strict-ssl false
RUN git config --global http.sslVerify false && git -c http.https://x.example/.sslVerify=0 clone https://x.example/r
RUN echo 'Acquire::https::Verify-Peer "false";' > /etc/apt/apt.conf.d/99insecure
RUN dnf install -y --setopt=sslverify=false httpd-2.4.57
"#,
            &[
                (2, "curl -k disables TLS certificate verification"),
                (2, "curl --insecure disables TLS certificate verification"),
                (
                    3,
                    "wget --no-check-certificate disables TLS certificate verification",
                ),
                (
                    4,
                    "pip trusted-host disables TLS certificate verification for the listed hosts",
                ),
                (
                    5,
                    "npm/yarn strict-ssl=false disables TLS certificate verification",
                ),
                (
                    6,
                    "git http.sslVerify=false disables TLS certificate verification",
                ),
                (
                    7,
                    "apt Acquire::https::Verify-Peer=false disables TLS certificate verification",
                ),
                (
                    8,
                    "sslverify=0 disables TLS certificate verification for yum/dnf",
                ),
            ],
        );
    }

    #[test]
    fn environment_and_config_files() {
        assert_df(
            &super::RULE,
            r#"FROM a:1
ENV GIT_SSL_NO_VERIFY=true NODE_TLS_REJECT_UNAUTHORIZED=0
ARG PYTHONHTTPSVERIFY=0
RUN GIT_SSL_NO_VERIFY=1 git clone https://x.example/r && export npm_config_strict_ssl=false
COPY <<EOF /etc/pip.conf
[global]
trusted-host = pypi.internal
EOF
RUN cat <<EOF > /root/.gitconfig
[http]
	sslVerify = false
EOF
"#,
            &[
                (
                    2,
                    "GIT_SSL_NO_VERIFY disables TLS certificate verification for git",
                ),
                (
                    2,
                    "NODE_TLS_REJECT_UNAUTHORIZED=0 disables TLS certificate verification in Node.js",
                ),
                (
                    3,
                    "PYTHONHTTPSVERIFY=0 disables TLS certificate verification in Python",
                ),
                (
                    4,
                    "GIT_SSL_NO_VERIFY disables TLS certificate verification for git",
                ),
                (
                    4,
                    "NPM_CONFIG_STRICT_SSL=false disables TLS certificate verification for npm",
                ),
                (
                    5,
                    "pip trusted-host disables TLS certificate verification for the listed hosts",
                ),
                (
                    9,
                    "git http.sslVerify=false disables TLS certificate verification",
                ),
            ],
        );
    }

    #[test]
    fn verification_kept() {
        assert_df(
            &super::RULE,
            r#"FROM a:1
RUN curl -fsSL -o key https://x.example/k && curl -H "X-k: 1" https://x.example && curl -ok https://x.example
RUN git config --global http.sslVerify true && npm config set strict-ssl true
ENV NODE_TLS_REJECT_UNAUTHORIZED=1 PIP_TRUSTED_HOST=
RUN pip install --cert /etc/ssl/ca.pem flask==3.0.3
"#,
            &[],
        );
    }
}
