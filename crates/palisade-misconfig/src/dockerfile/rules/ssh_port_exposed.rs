use palisade_core::{RuleMeta, Scanner, Severity};

use crate::dockerfile::Dockerfile;
use crate::dockerfile::shell::words;
use crate::rule::{DockerfileRule, Hit};

pub static RULE: DockerfileRule = DockerfileRule {
    meta: RuleMeta {
        id: "PAL-DF-012",
        title: "SSH port exposed",
        severity: Severity::Medium,
        scanner: Scanner::Dockerfile,
        kinds: &["Dockerfile"],
        controls: &[],
        fix: "Remove port 22 from EXPOSE and the SSH server from the image; use `docker exec` or `kubectl exec` to get a shell.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `EXPOSE` instructions that declare TCP port 22, alone (`22`, `22/tcp`) or inside a
range (`20-25`). Global `ARG` defaults are expanded.

## Why is this bad?
Port 22 means an SSH server runs in the container. That is one more network service with
its own vulnerabilities and credentials (host keys and `authorized_keys` baked into the
image, or passwords), it is a favourite target of automated brute-force scans, and it gives
attackers an interactive way in that bypasses the orchestrator's access control and audit
logging. Containers are meant to run one service and be inspected with `docker exec` or
`kubectl exec`.

## Example
```dockerfile
FROM ubuntu:24.04
RUN apt-get update && apt-get install -y --no-install-recommends openssh-server && \
    rm -rf /var/lib/apt/lists/*
EXPOSE 22 8080
CMD ["/usr/sbin/sshd", "-D"]
```

## Use instead
```dockerfile
FROM ubuntu:24.04
COPY app /usr/local/bin/app
EXPOSE 8080
CMD ["/usr/local/bin/app"]
```

## References
- [Dockerfile reference: EXPOSE](https://docs.docker.com/reference/dockerfile/#expose)
- [kubectl exec](https://kubernetes.io/docs/reference/kubectl/generated/kubectl_exec/)
"#;

fn check(df: &Dockerfile, out: &mut Vec<Hit>) {
    for inst in df.instructions.iter().filter(|i| i.keyword == "EXPOSE") {
        for w in words(&inst.args) {
            let spec = df.expand_global(&w);
            let (port, proto) = spec.split_once('/').unwrap_or((spec.as_str(), "tcp"));
            if !proto.eq_ignore_ascii_case("tcp") {
                continue;
            }
            let msg = match port.split_once('-') {
                None if port.parse::<u32>() == Ok(22) => {
                    "EXPOSE declares port 22 (SSH)".to_string()
                }
                Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
                    (Ok(a), Ok(b)) if a <= 22 && 22 <= b => {
                        format!("EXPOSE declares the range {port}, which includes port 22 (SSH)")
                    }
                    _ => continue,
                },
                None => continue,
            };
            out.push(Hit::new(msg, inst.span()));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_df;

    #[test]
    fn port_22() {
        assert_df(
            &super::RULE,
            "ARG SSH=22\nFROM a:1\nEXPOSE 80 22\nEXPOSE 22/TCP\nEXPOSE 20-25/tcp\nEXPOSE ${SSH}\n",
            &[
                (3, "EXPOSE declares port 22 (SSH)"),
                (4, "EXPOSE declares port 22 (SSH)"),
                (
                    5,
                    "EXPOSE declares the range 20-25, which includes port 22 (SSH)",
                ),
                (6, "EXPOSE declares port 22 (SSH)"),
            ],
        );
    }

    #[test]
    fn other_ports() {
        assert_df(
            &super::RULE,
            "FROM a:1\nEXPOSE 2222 8022 22/udp 23-30 $PORT\n",
            &[],
        );
    }
}
