//! Helpers shared by the Dockerfile rules: the shell code a `RUN` executes (heredocs
//! included, data heredocs kept apart), stage ancestry, secret-like variable names and
//! short lists for messages. Package-manager command reading lives in `packages.rs`.

use std::borrow::Cow;

use crate::dockerfile::shell;
use crate::dockerfile::{Dockerfile, Instruction};

/// Programs that run a shell script.
pub fn is_shell(prog: &str) -> bool {
    matches!(
        prog,
        "sh" | "bash" | "zsh" | "ash" | "dash" | "ksh" | "mksh"
    )
}

/// The `RUN` an instruction stands for: itself, or the `RUN` of an `ONBUILD RUN …` trigger
/// (reported on the `ONBUILD` line, since it runs in every image built from this one).
pub fn run_like(inst: &Instruction) -> Option<Cow<'_, Instruction>> {
    match inst.keyword.as_str() {
        "RUN" => Some(Cow::Borrowed(inst)),
        "ONBUILD" => {
            let inner = Dockerfile::parse(&inst.args)
                .instructions
                .into_iter()
                .next()?;
            (inner.keyword == "RUN").then_some(Cow::Owned(Instruction {
                start_line: inst.start_line,
                end_line: inst.end_line,
                stage: inst.stage,
                ..inner
            }))
        }
        _ => None,
    }
}

/// What a `RUN` instruction executes, and all of its text.
pub struct RunText {
    /// Shell code: the shell form, the `-c` script of an exec form, and the heredocs that
    /// a shell runs (`RUN <<EOF`, `bash <<EOF`).
    pub script: String,
    /// The arguments and every heredoc body, including data written to files
    /// (`cat <<EOF > /etc/apt/apt.conf.d/x`).
    pub text: String,
}

/// The shell code and full text of a `RUN` instruction.
pub fn run_text(inst: &Instruction) -> RunText {
    let mut script = match inst.exec_form() {
        Some(words) => {
            let prog = shell::program(&words);
            match words.as_slice() {
                [_, c, s, ..] if is_shell(prog) && is_c_option(c) => s.clone(),
                _ => words
                    .iter()
                    .map(|w| {
                        if w.contains(char::is_whitespace) || w.is_empty() {
                            format!("'{}'", w.replace('\'', ""))
                        } else {
                            w.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        }
        None => inst.args.clone(),
    };
    let mut text = inst.args.clone();
    let openers = heredoc_openers(&inst.args);
    for (i, body) in inst.heredocs.iter().enumerate() {
        text.push('\n');
        text.push_str(body);
        let is_script = match openers.get(i) {
            Some(&pos) => heredoc_is_script(&inst.args[..pos], body),
            None => true,
        };
        if is_script {
            script.push('\n');
            script.push_str(body);
        }
    }
    RunText { script, text }
}

/// `-c`, `-ec`, `-xc`, … : a shell option word that includes `c`.
pub fn is_c_option(w: &str) -> bool {
    w.len() > 1 && w.starts_with('-') && !w.starts_with("--") && w.contains('c')
}

/// Byte positions of the `<<` that open heredocs, found exactly as the parser finds them,
/// so the n-th position belongs to the n-th body.
fn heredoc_openers(args: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut rest = args;
    while let Some(pos) = rest.find("<<") {
        let mut consumed = pos + 2;
        let mut after = &rest[consumed..];
        if let Some(a) = after.strip_prefix('-') {
            after = a;
            consumed += 1;
        }
        let quoted = after.starts_with(['"', '\'']);
        let body = after.trim_start_matches(['"', '\'']);
        consumed += after.len() - body.len();
        let end = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..end];
        if !name.is_empty()
            && (quoted
                || name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_uppercase() || c == '_'))
        {
            out.push(offset + pos);
        }
        consumed += end;
        offset += consumed;
        rest = &rest[consumed..];
    }
    out
}

/// Whether a heredoc body is run as shell code: it is the instruction's own script
/// (`RUN <<EOF`, unless a shebang names another interpreter) or it feeds a shell.
fn heredoc_is_script(before: &str, body: &str) -> bool {
    let segment = before
        .rsplit(['\n', ';', '|', '&', '('])
        .next()
        .unwrap_or("");
    let words = shell::words(segment);
    let cmd = shell::strip_wrappers(&words);
    if cmd.is_empty() {
        let first = body.lines().next().unwrap_or("");
        return match first.strip_prefix("#!") {
            Some(interp) => {
                let w = shell::words(interp);
                let prog = shell::program(&w);
                if prog == "env" {
                    w.get(1)
                        .is_some_and(|p| is_shell(p.rsplit('/').next().unwrap_or(p)))
                } else {
                    is_shell(prog)
                }
            }
            None => true,
        };
    }
    is_shell(shell::program(cmd))
}

/// Indexes of the stage and the earlier stages it is built `FROM`, nearest first.
pub fn ancestry(df: &Dockerfile, stage: usize) -> Vec<usize> {
    let mut out = vec![stage];
    let mut cur = stage;
    while let Some(p) = parent_stage(df, cur) {
        if out.contains(&p) {
            break;
        }
        out.push(p);
        cur = p;
    }
    out
}

/// The earlier stage a stage's `FROM` names, if any (`FROM build`).
pub fn parent_stage(df: &Dockerfile, stage: usize) -> Option<usize> {
    let s = df.stages.get(stage)?;
    let image = df.expand_global(&s.image).to_ascii_lowercase();
    df.stages[..stage]
        .iter()
        .rposition(|e| e.name.as_deref() == Some(image.as_str()))
}

/// Stages whose files end up in the image: the final stage and the stages it is built on.
pub fn image_stages(df: &Dockerfile) -> Vec<usize> {
    df.final_stage()
        .map(|f| ancestry(df, f))
        .unwrap_or_default()
}

/// Last name parts that say the variable holds something about a secret, not the secret.
const NOT_SECRET_SUFFIXES: &[&str] = &[
    "FILE",
    "FILES",
    "PATH",
    "DIR",
    "URL",
    "URI",
    "NAME",
    "LENGTH",
    "LEN",
    "HOST",
    "PORT",
    "ENABLED",
    "TYPE",
    "MODE",
    "METHOD",
    "TTL",
    "TIMEOUT",
    "EXPIRY",
    "EXPIRATION",
    "HEADER",
    "VERSION",
    "REALM",
    "ENDPOINT",
    "SIZE",
    "COUNT",
];

/// Name parts that alone mark a secret (`DB_PASSWORD`, `GITHUB_TOKEN`).
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "CREDENTIALS",
];

/// Words ending in `PASS` that are not passwords (`ROOTPASS`, `DBPASS` are).
const NOT_PASSWORDS: &[&str] = &[
    "BYPASS",
    "COMPASS",
    "SURPASS",
    "TRESPASS",
    "OVERPASS",
    "UNDERPASS",
];

/// `<word>_KEY` names that hold key material (`API_KEY`, `LICENSE_KEY`, `SIGNING_KEY`).
const KEY_KINDS: &[&str] = &[
    "API",
    "PRIVATE",
    "ACCESS",
    "ACCOUNT",
    "LICENSE",
    "ENCRYPTION",
    "SIGNING",
    "MASTER",
    "CLIENT",
    "SESSION",
    "AUTH",
    "JWT",
];

/// Whether an environment or build-argument name looks like it holds a credential.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let parts: Vec<&str> = upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    let Some(last) = parts.last() else {
        return false;
    };
    if NOT_SECRET_SUFFIXES.contains(last) {
        return false;
    }
    parts.iter().enumerate().any(|(i, p)| {
        let next = parts.get(i + 1).copied();
        SECRET_WORDS.contains(p)
            || ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY"]
                .iter()
                .any(|w| p.len() > w.len() && p.ends_with(w))
            || (p.len() > 4 && p.ends_with("PASS") && !NOT_PASSWORDS.contains(p))
            || (next == Some("KEY") && KEY_KINDS.contains(p))
            || (*p == "AUTH" && i + 1 == parts.len())
    })
}

/// Values that cannot be a credential: empty, a bare `$VAR`/`${VAR}` reference, a boolean
/// or a file path.
pub fn is_inert_value(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || is_var_ref(v)
        || v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("~/")
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "0" | "1" | "none" | "null"
        )
}

/// `$NAME`, `${NAME}`, `${NAME:-x}` or a run of them and nothing else.
pub fn is_var_ref(v: &str) -> bool {
    let mut rest = v.trim();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some(after) = rest.strip_prefix('$') else {
            return false;
        };
        if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) if end > 0 => rest = &inner[end + 1..],
                _ => return false,
            }
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if n == 0 {
                return false;
            }
            rest = &after[n..];
        }
    }
    true
}

/// A URL with any `user:password@` part replaced, safe to print.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..host_end].rfind('@') {
            return format!("{scheme}://***@{}", &rest[at + 1..]);
        }
    }
    url.to_string()
}

/// `a, b, c` or, past `max` items, `a, b, c, d, e and 3 more`.
pub fn short_list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!("{} and {} more", items[..max].join(", "), items.len() - max)
}

/// Sources of a `COPY`/`ADD` (every argument but the destination), exec or shell form.
/// Heredoc sources (`<<EOF`) are left out.
pub fn copy_sources(inst: &Instruction) -> Vec<String> {
    let mut words = inst.exec_form().unwrap_or_else(|| shell::words(&inst.args));
    if words.len() < 2 {
        return Vec::new();
    }
    words.pop();
    words.retain(|w| !w.starts_with("<<"));
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "DB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "GITHUB_TOKEN",
            "api_key",
            "APIKEY",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "SSH_PRIVATE_KEY",
            "NPM_AUTH",
            "GOOGLE_CREDENTIALS",
            "ACCESSTOKEN",
            "SECRET_KEY_BASE",
            "DB_PASS",
            "LDAP_ROOTPASS",
            "LICENSE_KEY",
            "JWT_SIGNING_KEY",
            "GOOGLE_SERVICE_ACCOUNT_KEY",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "TOKENIZERS_PARALLELISM",
            "PASSWORD_FILE",
            "DB_PASSWORD_PATH",
            "SECRETS_DIR",
            "AUTH_URL",
            "AUTH_ENABLED",
            "TOKEN_NAME",
            "PASSWORD_MIN_LENGTH",
            "PATH",
            "PWD",
            "BYPASS_CACHE",
            "PROXY_BYPASS",
            "PUBLIC_KEY",
            "KEY",
            "",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn values_and_refs() {
        assert!(is_var_ref("$TOKEN"));
        assert!(is_var_ref("${TOKEN}"));
        assert!(is_var_ref("${A:-x}${B}"));
        assert!(!is_var_ref("$"));
        assert!(!is_var_ref("${A}x"));
        assert!(!is_var_ref("abc"));
        assert!(is_inert_value(""));
        assert!(is_inert_value("false"));
        assert!(is_inert_value("/run/secrets/db"));
        assert!(!is_inert_value("hunter2"));
    }

    #[test]
    fn urls_lists_and_stages() {
        assert_eq!(
            redact_url("https://u:p@example.com/x@y"),
            "https://***@example.com/x@y"
        );
        assert_eq!(redact_url("https://example.com/a"), "https://example.com/a");
        let items: Vec<String> = (1..=7).map(|i| i.to_string()).collect();
        assert_eq!(short_list(&items[..2], 5), "1, 2");
        assert_eq!(short_list(&items, 5), "1, 2, 3, 4, 5 and 2 more");
        let df = Dockerfile::parse("FROM a AS base\nFROM b AS other\nFROM base AS app\nFROM app\n");
        assert_eq!(ancestry(&df, 3), [3, 2, 0]);
        assert_eq!(image_stages(&df), [3, 2, 0]);
        assert_eq!(parent_stage(&df, 1), None);
    }

    #[test]
    fn run_text_keeps_data_heredocs_apart() {
        let df = Dockerfile::parse(
            "FROM a\nRUN <<EOF\napt-get update\nEOF\nRUN cat <<EOF > /etc/x && bash <<SH\nnot code\nEOF\ncurl x | sh\nSH\nRUN [\"/bin/sh\", \"-c\", \"curl x | sh\"]\nRUN <<EOF\n#!/usr/bin/env python3\nprint('x')\nEOF\n",
        );
        let r = run_text(&df.instructions[1]);
        assert_eq!(r.script, "<<EOF\napt-get update\n");
        let r = run_text(&df.instructions[2]);
        assert!(r.script.contains("curl x | sh") && !r.script.contains("not code"));
        assert!(r.text.contains("not code"));
        assert_eq!(run_text(&df.instructions[3]).script, "curl x | sh");
        assert!(!run_text(&df.instructions[4]).script.contains("print"));
    }

    #[test]
    fn rules_never_panic_on_odd_input() {
        for text in [
            "FROM",
            "FROM a\nADD\nCOPY\nEXPOSE\nENV\nARG\nHEALTHCHECK\nONBUILD\nONBUILD RUN\n",
            "FROM a\nRUN sh -c \"$(curl\nRUN $(\nRUN `\nRUN <(\nRUN <<\nRUN <<EOF\n",
            "FROM a\nRUN chmod\nRUN chmod é x\nRUN chmod -é x\nRUN mkdir -m\nRUN install --mode\n",
            "FROM a\nRUN curl -\nRUN curl | sh\nRUN | sh\nRUN sudo\nRUN /usr/bin/sudo -u\n",
            "FROM a\nRUN apt-get install\nRUN python -m pip\nRUN uv pip\nRUN npm i -g @\nRUN npm i -g @@\n",
            "FROM a\nENV é=é ä\nARG =\nEXPOSE 22-\nEXPOSE -22\nEXPOSE 99999999999999999999\n",
            "FROM a\nCOPY --chmod= a b\nCOPY é/.ssh/ä /\nADD ä\u{0}b c\nRUN echo 'Acquire::https::Verify-Peer\n",
            "FROM ${\nFROM $\nFROM a:\nFROM :\nFROM @\nFROM /\n",
        ] {
            let df = Dockerfile::parse(text);
            for rule in super::super::RULES {
                let mut hits = Vec::new();
                (rule.check)(&df, &mut hits);
            }
        }
    }

    #[test]
    fn onbuild_run_is_a_run() {
        let df = Dockerfile::parse(
            "FROM a\nONBUILD RUN --network=none make \\\n  install\nONBUILD COPY . /\n",
        );
        let run = run_like(&df.instructions[1]).unwrap();
        assert_eq!(run.keyword, "RUN");
        assert_eq!(run.args, "make    install");
        assert_eq!(run.flag("network"), Some("none"));
        assert_eq!((run.start_line, run.end_line), (2, 3));
        assert!(run_like(&df.instructions[2]).is_none());
        assert!(run_like(&df.instructions[0]).is_none());
    }
}
