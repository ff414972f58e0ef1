use palisade_core::{RuleMeta, Scanner, Severity};

use super::util::{run_like, run_text};
use crate::dockerfile::Dockerfile;
use crate::dockerfile::shell::{pipelines, program, strip_wrappers};
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-010",
        title: "sudo used",
        severity: Severity::Medium,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &[],
        fix: "Run privileged build steps before switching to the unprivileged USER, and drop privileges at start-up with `gosu`/`su-exec` instead of sudo.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `RUN`, `CMD` and `ENTRYPOINT` instructions that call `sudo`.

## Why is this bad?
Build steps already run as root until a `USER` instruction says otherwise, so `sudo` in a
`RUN` usually means the image switched to an unprivileged user and then grants that user
root again. For that to work the image must ship `sudo` with a rule letting the user run
commands as root, often without a password, which any process in the container can use to
undo the `USER` hardening. `sudo` in `CMD` or `ENTRYPOINT` also runs the main process with
unpredictable TTY and signal handling.

## Example
```dockerfile
FROM ubuntu:24.04
RUN apt-get update && apt-get install -y --no-install-recommends sudo=1.9.15p5-3ubuntu5 && \
    useradd -m app && echo "app ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/app
USER app
RUN sudo mkdir -p /srv/data && sudo chown app /srv/data
```

## Use instead
```dockerfile
FROM ubuntu:24.04
RUN useradd -m app && mkdir -p /srv/data && chown app /srv/data
USER app
```

## References
- [Docker build best practices: USER](https://docs.docker.com/build/building/best-practices/#user)
- [Dockerfile reference: USER](https://docs.docker.com/reference/dockerfile/#user)
"#;

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in &df.instructions {
        let script = match (inst.keyword.as_str(), run_like(inst)) {
            (_, Some(run)) => run_text(&run).script,
            ("CMD" | "ENTRYPOINT", None) => run_text(inst).script,
            _ => continue,
        };
        let mut runs: Vec<String> = Vec::new();
        for cmd in pipelines(&script).into_iter().flatten() {
            // Skip leading `VAR=x` and `env` so that `env X=1 sudo …` is seen too.
            let start = cmd
                .iter()
                .position(|w| !(w == "env" || w.contains('=') && !w.starts_with('-')))
                .unwrap_or(cmd.len());
            let rest = &cmd[start..];
            if program(rest) != "sudo" {
                continue;
            }
            // `/usr/bin/sudo` too: strip_wrappers knows the bare name only.
            let mut bare = rest.to_vec();
            bare[0] = "sudo".to_string();
            let target = program(strip_wrappers(&bare)).to_string();
            if !runs.contains(&target) {
                runs.push(target);
            }
        }
        for target in runs {
            let msg = if target.is_empty() {
                format!("{} uses sudo", inst.keyword)
            } else {
                format!("{} uses sudo to run {target:?}", inst.keyword)
            };
            out.push(Hit::new(msg, inst.span()));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn sudo_in_run_cmd_and_entrypoint() {
        assert_df(
            &super::RULE,
            r#"FROM ubuntu:24.04
USER app
RUN sudo apt-get update && sudo -E apt-get install -y x && sudo -u root chown app /srv
RUN DEBIAN_FRONTEND=noninteractive /usr/bin/sudo -i
CMD ["sudo", "-E", "/usr/local/bin/start.sh"]
ENTRYPOINT sudo service ssh start && exec app
"#,
            &[
                (3, "RUN uses sudo to run \"apt-get\""),
                (3, "RUN uses sudo to run \"chown\""),
                (4, "RUN uses sudo"),
                (5, "CMD uses sudo to run \"start.sh\""),
                (6, "ENTRYPOINT uses sudo to run \"service\""),
            ],
        );
    }

    #[test]
    fn no_sudo() {
        assert_df(
            &super::RULE,
            "FROM ubuntu:24.04\nRUN apt-get install -y sudo=1.9.15p5-3ubuntu5 && echo 'sudo is installed'\nRUN gosu app true\n",
            &[],
        );
    }
}
