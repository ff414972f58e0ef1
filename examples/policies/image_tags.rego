package kubernetes.image_tags

import rego.v1

import data.lib.kubernetes as k8s

# METADATA
# title: Image without a pinned tag
# description: >-
#   An image tagged latest, or not tagged at all, changes under you: two rollouts of the
#   same manifest can run different code, and a rollback does not bring the old code back.
# custom:
#   id: ORG-K8S-003
#   severity: MEDIUM
#   recommended_actions:
#   - Use a version tag (nginx:1.27.3) or, better, a digest (nginx@sha256:…).
#   input:
#     selector:
#     - type: kubernetes
deny_latest_tag contains result if {
	some img in k8s.images
	unpinned(img.image)
	result := {
		"msg": sprintf("container %q uses %q: pin a version tag or a digest", [img.name, img.image]),
		"field": img.path,
	}
}

unpinned(image) if endswith(image, ":latest")

unpinned(image) if {
	not contains(image, "@")
	parts := split(image, "/")
	not contains(parts[count(parts) - 1], ":")
}
