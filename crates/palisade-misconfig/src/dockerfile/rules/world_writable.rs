use palisade_core::{RuleMeta, Scanner, Severity};

use super::util::{run_like, run_text, short_list};
use crate::dockerfile::Dockerfile;
use crate::dockerfile::shell::{commands, program};
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-013",
        title: "World-writable permissions",
        severity: Severity::High,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &[],
        fix: "Give ownership to the user that needs to write (`chown app` or `COPY --chown=app`) and use modes such as 755/644, or 775/664 with a shared group.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags permission changes that let every user write: `chmod` with an octal mode whose
"others" digit includes write (`777`, `0666`, `-R 777`) or a symbolic mode such as `o+w`,
`a+w`, `a+rwx` or `ugo+w`, the same modes given to `mkdir -m` and `install -m` (also
through `find -exec` and `xargs`), and `COPY`/`ADD --chmod`. Modes that also set the
sticky bit (`1777`, `+t`), the usual setting for shared temporary directories, are not
reported.

## Why is this bad?
Any process in the container, whatever user it runs as, can then replace the files: a
compromised low-privilege process or a second application user can overwrite binaries,
scripts or configuration that a more privileged process (or the entrypoint running as root)
later executes or trusts. `chmod 777` is usually a shortcut around a permission error that
should be fixed with the right owner instead.

## Example
```dockerfile
FROM node:20-slim
WORKDIR /app
COPY . .
RUN chmod -R 777 /app
USER node
```

## Use instead
```dockerfile
FROM node:20-slim
WORKDIR /app
COPY --chown=node:node . .
USER node
```

## References
- [Dockerfile reference: COPY --chown --chmod](https://docs.docker.com/reference/dockerfile/#copy---chown---chmod)
- [chmod(1)](https://man7.org/linux/man-pages/man1/chmod.1.html)
"#;

/// Whether a `chmod`-style mode grants write to others, without the sticky bit.
fn world_writable(mode: &str) -> bool {
    if !mode.is_empty() && mode.len() <= 4 && mode.chars().all(|c| ('0'..='7').contains(&c)) {
        let digit = |c: char| c.to_digit(8).unwrap_or(0);
        let others = mode.chars().last().map(digit).unwrap_or(0);
        let sticky = mode.len() == 4 && mode.chars().next().map(digit).unwrap_or(0) & 1 == 1;
        return others & 2 != 0 && !sticky;
    }
    let mut writable = false;
    let mut sticky = false;
    for clause in mode.split(',') {
        let who_end = clause
            .find(|c: char| !"ugoa".contains(c))
            .unwrap_or(clause.len());
        let who = &clause[..who_end];
        let mut rest = &clause[who_end..];
        if rest.is_empty() {
            return false;
        }
        while let Some(op) = rest.chars().next() {
            if !"+-=".contains(op) {
                return false;
            }
            let perms_end = rest[1..]
                .find(|c: char| "+-=".contains(c))
                .map_or(rest.len(), |p| p + 1);
            let perms = &rest[1..perms_end];
            if op != '-' {
                writable |= (who.contains('o') || who.contains('a')) && perms.contains('w');
                sticky |= perms.contains('t');
            }
            rest = &rest[perms_end..];
        }
    }
    writable && !sticky
}

/// Options of chmod that are not a mode (`-R`, `-fv`, `--recursive`).
fn is_chmod_option(w: &str) -> bool {
    w.starts_with("--")
        || w.strip_prefix('-')
            .is_some_and(|f| !f.is_empty() && f.chars().all(|c| "Rfvc".contains(c)))
}

fn quoted_targets(words: &[String]) -> String {
    let t: Vec<String> = words
        .iter()
        .filter(|w| !w.starts_with('-') && !matches!(w.as_str(), "{}" | ";" | "+"))
        .map(|w| format!("{w:?}"))
        .collect();
    if t.is_empty() {
        "files".to_string()
    } else {
        short_list(&t, 3)
    }
}

fn check_command(cmd: &[String], msgs: &mut Vec<String>) {
    match program(cmd) {
        "chmod" => {
            let args = &cmd[1..];
            let Some(m) = args.iter().position(|w| !is_chmod_option(w)) else {
                return;
            };
            if world_writable(&args[m]) {
                msgs.push(format!(
                    "chmod {} makes {} writable by every user",
                    args[m],
                    quoted_targets(&args[m + 1..])
                ));
            }
        }
        prog @ ("mkdir" | "install") => {
            let mut i = 1;
            while i < cmd.len() {
                let w = cmd[i].as_str();
                let mode = if w == "-m" || w == "--mode" {
                    i += 1;
                    cmd.get(i).map(String::as_str)
                } else if let Some(m) = w.strip_prefix("--mode=") {
                    Some(m)
                } else if w.starts_with("-m") && !w.starts_with("--") {
                    Some(&w[2..])
                } else {
                    None
                };
                if let Some(mode) = mode
                    && world_writable(mode)
                {
                    let what = if prog == "mkdir" {
                        quoted_targets(&cmd[i + 1..])
                    } else {
                        "files".to_string()
                    };
                    msgs.push(format!(
                        "{prog} -m {mode} creates {what} writable by every user"
                    ));
                }
                i += 1;
            }
        }
        "find" | "xargs" => {
            if let Some(p) = cmd.iter().skip(1).position(|w| w == "chmod") {
                check_command(&cmd[p + 1..], msgs);
            }
        }
        _ => {}
    }
}

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in &df.instructions {
        let mut msgs = Vec::new();
        if let Some(run) = run_like(inst) {
            for cmd in commands(&run_text(&run).script) {
                check_command(&cmd, &mut msgs);
            }
        }
        match inst.keyword.as_str() {
            "COPY" | "ADD" => {
                if let Some(mode) = inst.flag("chmod")
                    && world_writable(mode)
                {
                    msgs.push(format!(
                        "{} --chmod={mode} makes the copied files writable by every user",
                        inst.keyword
                    ));
                }
            }
            _ => {}
        }
        msgs.dedup();
        for m in msgs {
            out.push(Hit::new(m, inst.span()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::world_writable;
    use crate::testing::assert_df;

    #[test]
    fn modes() {
        for m in [
            "777", "0777", "666", "2777", "a+rwx", "o+w", "ugo+w", "u+x,o+rw", "a=rwx", "go-x+w",
        ] {
            assert!(world_writable(m), "{m}");
        }
        for m in [
            "755", "0644", "1777", "775", "+w", "u+w", "g+w", "o-w", "a+rwxt", "o=u", "x",
        ] {
            assert!(!world_writable(m), "{m}");
        }
    }

    #[test]
    fn world_writable_changes() {
        assert_df(
            &super::RULE,
            r#"FROM a:1
RUN chmod -R 777 /app /data && chmod a+w /var/log/app.log
RUN mkdir -p -m 0777 /shared && install -m 666 app.conf /etc/
RUN find /srv -type d -exec chmod o+w {} +
COPY --chmod=777 entrypoint.sh /
"#,
            &[
                (
                    2,
                    "chmod 777 makes \"/app\", \"/data\" writable by every user",
                ),
                (
                    2,
                    "chmod a+w makes \"/var/log/app.log\" writable by every user",
                ),
                (
                    3,
                    "mkdir -m 0777 creates \"/shared\" writable by every user",
                ),
                (3, "install -m 666 creates files writable by every user"),
                (4, "chmod o+w makes files writable by every user"),
                (
                    5,
                    "COPY --chmod=777 makes the copied files writable by every user",
                ),
            ],
        );
    }

    #[test]
    fn safe_modes() {
        assert_df(
            &super::RULE,
            "FROM a:1\nRUN chmod 1777 /tmp && chmod -R 755 /app && chmod +x run.sh && chmod -w f\nCOPY --chmod=0755 run.sh /\nRUN echo chmod 777 x\n",
            &[],
        );
    }
}
