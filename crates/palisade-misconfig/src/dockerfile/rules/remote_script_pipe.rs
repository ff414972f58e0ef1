use palisade_core::{RuleMeta, Scanner, Severity};

use super::util::{is_c_option, is_shell, redact_url, run_like, run_text};
use crate::dockerfile::Dockerfile;
use crate::dockerfile::shell::{pipelines, program, strip_wrappers, words};
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-007",
        title: "Remote script piped into a shell",
        severity: Severity::High,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &["cis:4.11"],
        fix: "Download the script or binary to a file, verify its checksum or signature, then run it; better, install a pinned package.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `RUN` steps (shell form, exec form and heredocs) that run whatever `curl` or `wget`
download without saving it first: `curl -fsSL URL | sh`, `wget -qO- URL | bash -s --`,
`sh -c "$(curl -fsSL URL)"`, `bash <(curl URL)`, and the same with `python` or `perl`
reading the script from standard input.

## Why is this bad?
The build executes code nobody has reviewed or verified. If the server, the CDN, a DNS
record or the project's account is compromised, the attacker's script runs as root inside
the build and its changes end up in the image. A server can even tell `curl | sh` apart
from a plain download and serve the malicious version only to pipes. An interrupted
download can also leave a half-executed script that the build does not notice.

## Example
```dockerfile
FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates && \
    curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
```

## Use instead
```dockerfile
FROM debian:12-slim
# A reviewed copy of the setup script, kept in the repository and updated deliberately.
COPY scripts/nodesource_setup_20.x.sh /tmp/setup.sh
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates && \
    bash /tmp/setup.sh && rm /tmp/setup.sh
```

## References
- [Docker build best practices: RUN](https://docs.docker.com/build/building/best-practices/#run)
- CIS Docker Benchmark 4.11, "Ensure only verified packages are installed"
"#;

fn is_fetcher(prog: &str) -> bool {
    matches!(prog, "curl" | "wget")
}

fn is_python(prog: &str) -> bool {
    prog.strip_prefix("python")
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// Whether an interpreter command takes its program from standard input.
fn reads_stdin(cmd: &[String]) -> bool {
    let prog = program(cmd);
    let args = &cmd[1.min(cmd.len())..];
    if is_shell(prog) {
        let mut saw_s = false;
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_str();
            match a {
                "-" => return true,
                "--" => return saw_s || i + 1 == args.len(),
                "-o" | "+o" | "-O" | "+O" => i += 1,
                _ if a.starts_with("--") => {}
                _ if a.len() > 1 && (a.starts_with('-') || a.starts_with('+')) => {
                    if is_c_option(a) {
                        return false;
                    }
                    saw_s |= a.contains('s');
                }
                // A script file, unless -s made the words positional parameters.
                _ => return saw_s,
            }
            i += 1;
        }
        true
    } else if is_python(prog) {
        let mut i = 0;
        while i < args.len() {
            match args[i].as_str() {
                "-" => return true,
                "-c" | "-m" => return false,
                "-W" | "-X" | "-Q" => i += 1,
                a if a.starts_with('-') && a.len() > 1 => {}
                _ => return false,
            }
            i += 1;
        }
        true
    } else if prog == "perl" {
        for a in args {
            match a.as_str() {
                "-" => return true,
                a if a.starts_with('-') && a.len() > 1 => {
                    if a[1..].contains(['e', 'E']) && !a.starts_with("-M") {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        true
    } else {
        false
    }
}

/// Whether a command runs the code given as an argument (`sh -c CODE`, `eval CODE`).
fn runs_argument(cmd: &[String]) -> bool {
    let prog = program(cmd);
    let args = cmd.get(1..).unwrap_or(&[]);
    prog == "eval"
        || (is_shell(prog) && args.iter().any(|a| is_c_option(a)))
        || (is_python(prog) && args.iter().any(|a| a == "-c"))
        || (prog == "perl" && args.iter().any(|a| a.starts_with('-') && a.contains('e')))
}

/// `from "URL"` for the first URL among a download command's words, or nothing.
fn source(cmd: &[String]) -> String {
    cmd.iter()
        .skip(1)
        .find(|w| w.contains("://"))
        .map(|u| format!(" from \"{}\"", redact_url(u)))
        .unwrap_or_default()
}

fn from_pipes(script: &str, msgs: &mut Vec<String>) {
    for pipeline in pipelines(script) {
        let cmds: Vec<&[String]> = pipeline.iter().map(|c| strip_wrappers(c)).collect();
        let Some(fi) = cmds.iter().position(|c| is_fetcher(program(c))) else {
            continue;
        };
        if let Some(sink) = cmds[fi + 1..].iter().find(|c| reads_stdin(c)) {
            msgs.push(format!(
                "script downloaded with {}{} is piped into {}",
                program(cmds[fi]),
                source(cmds[fi]),
                program(sink)
            ));
        }
    }
}

/// `sh -c "$(curl …)"`, `` eval `wget -O- …` ``, `bash <(curl …)`.
fn from_substitutions(script: &str, msgs: &mut Vec<String>) {
    for (pos, opener) in script.match_indices(['$', '<', '`']) {
        let (inner_start, process_sub) = match opener {
            "`" => (pos + 1, false),
            _ if script[pos + 1..].starts_with('(') => (pos + 2, opener == "<"),
            _ => continue,
        };
        let inner = &script[inner_start..];
        let inner = &inner[..inner
            .find([')', '`', '|', ';', '\n'])
            .unwrap_or(inner.len())];
        let inner_words = words(inner);
        let fetch = strip_wrappers(&inner_words);
        if !is_fetcher(program(fetch)) {
            continue;
        }
        let before = &script[..pos];
        let segment = before
            .rsplit(['\n', ';', '|', '&', '('])
            .next()
            .unwrap_or("");
        let outer_words = words(segment);
        let outer = strip_wrappers(&outer_words);
        let prog = program(outer);
        let runs = if process_sub {
            is_shell(prog) || is_python(prog) || matches!(prog, "perl" | "." | "source")
        } else {
            runs_argument(outer)
        };
        if runs {
            msgs.push(format!(
                "script downloaded with {}{} is run by {prog}",
                program(fetch),
                source(fetch)
            ));
        }
    }
}

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in &df.instructions {
        let Some(run) = run_like(inst) else {
            continue;
        };
        let script = run_text(&run).script;
        let mut msgs = Vec::new();
        from_pipes(&script, &mut msgs);
        from_substitutions(&script, &mut msgs);
        msgs.dedup();
        for m in msgs {
            out.push(Hit::new(m, inst.span()));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn pipes_into_interpreters() {
        assert_df(
            &super::RULE,
            r#"FROM a:1
RUN curl -fsSL https://get.docker.com | sh
RUN apt-get update && \
    wget -qO- https://user:pw@example.com/install | sudo -E bash -s -- --version 1.2
RUN curl -sSL https://install.python-poetry.org | python3 -
RUN ["/bin/sh", "-c", "curl -L https://x.example/i.sh | bash"]
RUN <<EOF
set -e
curl https://x.example/setup | tee /tmp/log | sh
EOF
ONBUILD RUN curl https://install.meteor.com/ | sh
"#,
            &[
                (
                    2,
                    "script downloaded with curl from \"https://get.docker.com\" is piped into sh",
                ),
                (
                    3,
                    "script downloaded with wget from \"https://***@example.com/install\" is piped into bash",
                ),
                (
                    5,
                    "script downloaded with curl from \"https://install.python-poetry.org\" is piped into python3",
                ),
                (
                    6,
                    "script downloaded with curl from \"https://x.example/i.sh\" is piped into bash",
                ),
                (
                    7,
                    "script downloaded with curl from \"https://x.example/setup\" is piped into sh",
                ),
                (
                    11,
                    "script downloaded with curl from \"https://install.meteor.com/\" is piped into sh",
                ),
            ],
        );
    }

    #[test]
    fn substitutions() {
        assert_df(
            &super::RULE,
            r#"FROM a:1
RUN sh -c "$(curl -fsSL https://raw.githubusercontent.com/ohmyzsh/ohmyzsh/master/tools/install.sh)"
RUN bash <(curl -s https://x.example/i.sh)
RUN eval `wget -O- https://x.example/env`
RUN source <(curl https://x.example/env)
"#,
            &[
                (
                    2,
                    "script downloaded with curl from \"https://raw.githubusercontent.com/ohmyzsh/ohmyzsh/master/tools/install.sh\" is run by sh",
                ),
                (
                    3,
                    "script downloaded with curl from \"https://x.example/i.sh\" is run by bash",
                ),
                (
                    4,
                    "script downloaded with wget from \"https://x.example/env\" is run by eval",
                ),
                (
                    5,
                    "script downloaded with curl from \"https://x.example/env\" is run by source",
                ),
            ],
        );
    }

    #[test]
    fn downloads_that_are_not_executed() {
        assert_df(
            &super::RULE,
            r#"FROM a:1
RUN curl -fsSL https://x.example/key.gpg | gpg --dearmor -o /usr/share/keyrings/x.gpg
RUN curl -s https://api.example/release | python3 -c "import sys, json; print(json.load(sys.stdin)['tag'])"
RUN curl -fsSLo /tmp/i.sh https://x.example/i.sh && sh /tmp/i.sh
RUN VERSION=$(curl -s https://x.example/latest) && echo $VERSION
RUN curl -s https://x.example/a.tar.gz | tar -xz -C /opt
RUN wget -qO- https://x.example/data | perl -ne 'print if /x/'
RUN curl -s https://x.example/x | bash -c 'cat > /tmp/x'
RUN cat <<EOF > /tmp/notes
curl https://x.example | sh
EOF
"#,
            &[],
        );
    }
}
