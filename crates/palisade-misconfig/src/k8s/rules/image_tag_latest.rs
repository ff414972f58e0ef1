use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use super::hardening_util::is_placeholder;
use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-028",
        title: "Image uses the latest tag or no tag",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["nsa:image-scanning"],
        fix: "Pin every image to a specific version tag, or better to a digest (`image: repo/app:1.4.2@sha256:...`).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags containers whose image has no tag or the `latest` tag and no digest. A registry
port (`registry:5000/app`) is not a tag; an image with a digest (`@sha256:...`) is pinned
whatever its tag; images built from template placeholders (`${IMAGE}`, `{{ ... }}`) and
documentation placeholders (`<your-image>`) are skipped: they are not what gets deployed.

## Why is this bad?
`latest` (which is also what a missing tag means) moves: every node that pulls the image
may get a different build, a rollback redeploys whatever is newest instead of the last good
version, and a compromised or mistaken push to the registry reaches production on the next
pod restart without any change to the manifest. It also defeats image scanning and
admission policies, since the image that was scanned is not necessarily the one that runs.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:latest
        - name: metrics
          image: registry.example.com:5000/nginx-exporter
```

## Use instead
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27.3@sha256:2c6f3d0bd0dbd0f2a1c2e0d3a7e0f3b1b1e8bde1e8bde1e8bde1e8bde1e8bde1
        - name: metrics
          image: registry.example.com:5000/nginx-exporter:1.4.0
```

## References
- [Images: image names and tags](https://kubernetes.io/docs/concepts/containers/images/#image-names)
- NSA/CISA Kubernetes Hardening Guide, "Container images" (image scanning)
"#;

/// What is wrong with an image reference, if anything.
fn problem(image: &str) -> Option<&'static str> {
    let image = image.trim();
    if image.is_empty() || is_placeholder(image) || image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("without a tag"),
        Some((_, "latest")) => Some("with the latest tag"),
        Some((_, "")) => Some("with an empty tag"),
        Some(_) => None,
    }
}

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    for c in pod.containers() {
        let Some(image) = c.get("image").and_then(Node::scalar_text) else {
            continue;
        };
        let Some(what) = problem(image) else { continue };
        let Some(span) = entry_span(c.node, "image") else {
            continue;
        };
        out.push(
            Hit::new(format!("{} uses image {image:?} {what}", c.label()), span)
                .field(c.field("image")),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_missing_and_latest_tags() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: init
      image: busybox
  containers:
    - name: web
      image: nginx:latest
    - name: registry-port
      image: registry.local:5000/team/app
    - name: pinned
      image: registry.local:5000/team/app:1.2.3
    - name: digest
      image: repo/app:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    - name: templated
      image: ${IMAGE}
    - name: helm
      image: "{{ .Values.image }}"
  ephemeralContainers:
    - name: debug
      image: "docker.io/library/alpine"
"#,
            &[
                (
                    8,
                    "init container \"init\" uses image \"busybox\" without a tag",
                ),
                (
                    11,
                    "container \"web\" uses image \"nginx:latest\" with the latest tag",
                ),
                (
                    13,
                    "container \"registry-port\" uses image \"registry.local:5000/team/app\" without a tag",
                ),
                (
                    24,
                    "ephemeral container \"debug\" uses image \"docker.io/library/alpine\" without a tag",
                ),
            ],
        );
    }

    #[test]
    fn tagged_images_and_missing_image_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - name: a
          image: nginx:1.27
        - name: b
          image: localhost:5000/app:v2
        - name: c
        - name: d
          image: Latest:Latest
        - name: e
          image: <YOUR-CONTAINER>
"#,
            &[],
        );
    }

    #[test]
    fn problem_parsing() {
        assert_eq!(super::problem("app:"), Some("with an empty tag"));
        assert_eq!(super::problem("  "), None);
        assert_eq!(super::problem("a/b/c:latest"), Some("with the latest tag"));
        assert_eq!(super::problem("a:1/b"), Some("without a tag"));
    }
}
