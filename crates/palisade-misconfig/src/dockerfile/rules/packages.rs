//! Reading package-manager commands (apt-get, apk, yum/dnf, pip, gem, npm) out of the
//! simple commands of a `RUN`, for the version-pin and cache rules.

use crate::dockerfile::shell;

/// A package manager the rules know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Apt,
    Apk,
    Yum,
    Pip,
    Gem,
    Npm,
}

/// One install command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub manager: Manager,
    /// The tool as written (`apt-get`, `dnf`, `pip3`), for messages.
    pub tool: String,
    /// Every word of the command, options included.
    pub words: Vec<String>,
    /// Position of the first word after the subcommand (`install`, `add`).
    pub args_from: usize,
}

impl Install {
    /// The words after the subcommand.
    pub fn args(&self) -> &[String] {
        &self.words[self.args_from..]
    }

    /// Whether any word of the command is one of `options` (or `option=value`).
    pub fn has_option(&self, options: &[&str]) -> bool {
        self.words.iter().any(|w| {
            let name = w.split_once('=').map_or(w.as_str(), |(n, _)| n);
            options.contains(&name)
        })
    }
}

/// Options that take a separate value, per manager (written `-o value`, not `-o=value`).
fn takes_value(m: Manager, opt: &str) -> bool {
    let list: &[&str] = match m {
        Manager::Apt => &[
            "-o",
            "-t",
            "-c",
            "--option",
            "--target-release",
            "--config-file",
        ],
        Manager::Apk => &[
            "-X",
            "--repository",
            "-p",
            "--root",
            "--arch",
            "--cache-dir",
            "-t",
            "--virtual",
            "--repositories-file",
            "--keys-dir",
        ],
        Manager::Yum => &[
            "-x",
            "--exclude",
            "-c",
            "--config",
            "--releasever",
            "--enablerepo",
            "--disablerepo",
            "--repo",
            "--repoid",
            "--setopt",
            "--installroot",
        ],
        Manager::Pip => &[
            "-r",
            "--requirement",
            "-c",
            "--constraint",
            "-e",
            "--editable",
            "-i",
            "--index-url",
            "--extra-index-url",
            "-f",
            "--find-links",
            "--trusted-host",
            "-t",
            "--target",
            "--prefix",
            "--root",
            "--platform",
            "--python-version",
            "--implementation",
            "--abi",
            "--src",
            "--upgrade-strategy",
            "--progress-bar",
            "--cache-dir",
            "--log",
            "--proxy",
            "--retries",
            "--timeout",
            "--exists-action",
            "--cert",
            "--client-cert",
            "--no-binary",
            "--only-binary",
            "-C",
            "--config-settings",
            "--global-option",
            "--python",
        ],
        Manager::Gem => &[
            "-v",
            "--version",
            "-i",
            "--install-dir",
            "-n",
            "--bindir",
            "-s",
            "--source",
            "-P",
            "--trust-policy",
            "--platform",
        ],
        Manager::Npm => &[
            "--prefix",
            "--registry",
            "--tag",
            "--cache",
            "-w",
            "--workspace",
        ],
    };
    list.contains(&opt)
}

/// The first word that is not an option (or an option's value), from `start`.
fn first_operand(m: Manager, words: &[String], start: usize) -> Option<usize> {
    let mut i = start;
    while i < words.len() {
        let w = words[i].as_str();
        if w.starts_with('-') && w.len() > 1 {
            i += if !w.contains('=') && takes_value(m, w) {
                2
            } else {
                1
            };
        } else {
            return Some(i);
        }
    }
    None
}

/// The install command in `cmd` (wrappers already stripped), if it is one.
pub fn install_of(cmd: &[String]) -> Option<Install> {
    let prog = shell::program(cmd);
    let (manager, sub_from, subs): (Manager, usize, &[&str]) = match prog {
        "apt-get" | "apt" => (Manager::Apt, 1, &["install"]),
        "apk" => (Manager::Apk, 1, &["add"]),
        "yum" | "dnf" | "microdnf" | "tdnf" => (Manager::Yum, 1, &["install"]),
        "gem" => (Manager::Gem, 1, &["install", "i"]),
        "npm" => (
            Manager::Npm,
            1,
            &["install", "i", "in", "ins", "inst", "add", "isntall"],
        ),
        p if is_pip(p) => (Manager::Pip, 1, &["install"]),
        p if p.starts_with("python")
            && cmd.get(1).is_some_and(|w| w == "-m")
            && cmd.get(2).is_some_and(|w| is_pip(w)) =>
        {
            (Manager::Pip, 3, &["install"])
        }
        "uv" if cmd.get(1).is_some_and(|w| w == "pip") => (Manager::Pip, 2, &["install"]),
        _ => return None,
    };
    let sub = first_operand(manager, cmd, sub_from)?;
    if !subs.contains(&cmd[sub].as_str()) {
        return None;
    }
    let install = Install {
        manager,
        tool: prog.to_string(),
        words: cmd.to_vec(),
        args_from: sub + 1,
    };
    if manager == Manager::Npm
        && !install.has_option(&["-g", "--global"])
        && !install.words.iter().any(|w| w == "--location=global")
    {
        return None;
    }
    Some(install)
}

/// Whether a word names a package from the manager's repository, rather than a variable
/// (unknown at scan time), a local file, a URL or a group.
fn is_registry_name(m: Manager, w: &str) -> bool {
    if w.is_empty() || w.contains('$') || w.contains("://") || w.starts_with(['.', '/', '~']) {
        return false;
    }
    match m {
        // `pkg/bookworm-backports` picks a release, not a version: still a package.
        Manager::Apt => !w.ends_with(".deb"),
        Manager::Apk => !w.ends_with(".apk") && !w.contains('/'),
        Manager::Yum => !w.starts_with('@') && !w.contains('/'),
        Manager::Pip | Manager::Gem => !w.contains('/'),
        // `@scope/name` is a registry package; `user/repo` is a GitHub shorthand.
        Manager::Npm => w.starts_with('@') || !w.contains('/'),
    }
}

fn is_pip(p: &str) -> bool {
    p.strip_prefix("pip")
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// The packages an install command names without a version pin, as written.
pub fn unpinned(inst: &Install) -> Vec<String> {
    let m = inst.manager;
    let args = inst.args();
    let mut out = Vec::new();
    if m == Manager::Gem && inst.has_option(&["-v", "--version"]) {
        return out;
    }
    let mut i = 0;
    let mut last_pushed = false;
    while i < args.len() {
        let w = args[i].as_str();
        if w.starts_with('-') && w.len() > 1 {
            i += if !w.contains('=') && takes_value(m, w) {
                2
            } else {
                1
            };
            last_pushed = false;
            continue;
        }
        i += 1;
        if m == Manager::Pip && w == "@" {
            // `name @ url`: a direct reference, pinned by the URL.
            if last_pushed {
                out.pop();
            }
            last_pushed = false;
            i += 1;
            continue;
        }
        last_pushed = false;
        if !is_registry_name(m, w) {
            continue;
        }
        let pinned = match m {
            Manager::Apt => w.contains('='),
            Manager::Apk => w.contains(['=', '<', '>', '~']),
            Manager::Yum => {
                let lower = w.to_ascii_lowercase();
                lower.ends_with(".rpm")
                    || w.rsplit_once('-')
                        .is_some_and(|(_, v)| v.starts_with(|c: char| c.is_ascii_digit()))
            }
            Manager::Pip => {
                w.contains("==")
                    || w.contains('@')
                    || [".whl", ".tar.gz", ".zip"].iter().any(|e| w.ends_with(e))
            }
            Manager::Gem => w.contains(':') || w.ends_with(".gem"),
            Manager::Npm => {
                let name_end = match w.strip_prefix('@') {
                    Some(scoped) => scoped.find('@').map(|p| p + 1),
                    None => w.find('@'),
                };
                match name_end {
                    Some(p) => {
                        let v = &w[p + 1..];
                        !v.is_empty() && v != "latest"
                    }
                    None => w.ends_with(".tgz"),
                }
            }
        };
        if !pinned {
            out.push(w.to_string());
            last_pushed = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::shell::commands;

    fn unpinned_in(script: &str) -> Vec<String> {
        commands(script)
            .iter()
            .filter_map(|c| install_of(c))
            .flat_map(|i| unpinned(&i))
            .collect()
    }

    #[test]
    fn finds_unpinned_packages() {
        assert_eq!(
            unpinned_in(
                "apt-get -o Dpkg::Options::=--force-confnew -y install --no-install-recommends -t bookworm-backports curl git=1:2.39 ./x.deb $EXTRA"
            ),
            ["curl"]
        );
        assert_eq!(
            unpinned_in("apk add --no-cache --virtual .deps bash curl=8.5.0-r0 jq~1.7"),
            ["bash"]
        );
        assert_eq!(
            unpinned_in(
                "dnf install -y --setopt=tsflags=nodocs httpd-2.4.6-97.el7 java-11-openjdk @core"
            ),
            ["java-11-openjdk"]
        );
        assert_eq!(
            unpinned_in(
                "pip install --no-cache-dir -r requirements.txt flask==3.0.0 requests 'uvicorn[standard]>=0.20' . -e ./lib pkg @ https://x/y.whl"
            ),
            ["requests", "uvicorn[standard]>=0.20"]
        );
        assert_eq!(unpinned_in("python3 -m pip install -U pip"), ["pip"]);
        assert_eq!(
            unpinned_in("uv pip install --system ruff==0.5.0 black"),
            ["black"]
        );
        assert_eq!(
            unpinned_in("gem install bundler -v 2.4.0 && gem install rails:7.1.0 rake"),
            ["rake"]
        );
        assert_eq!(
            unpinned_in(
                "npm install -g @angular/cli@17.0.0 typescript yarn@latest npm@10 && npm install express"
            ),
            ["typescript", "yarn@latest"]
        );
        assert!(unpinned_in("apt-get update && pip download x && npm ci").is_empty());
    }
}
