# METADATA
# title: Image from a registry that is not allowed
# description: >-
#   Images must come from one of the registries in data.registries.allowed (see data.yaml):
#   images from anywhere else have not been through the company's image scanning.
# custom:
#   id: ORG-K8S-002
#   severity: HIGH
#   recommended_actions:
#   - Push the image to an allowed registry and reference it from there.
#   input:
#     selector:
#     - type: kubernetes
package kubernetes.allowed_registries

import rego.v1

import data.lib.kubernetes as k8s

deny contains result if {
	some img in k8s.images
	not allowed(img.image)
	result := {
		"msg": sprintf("container %q uses %q, which is not from an allowed registry", [img.name, img.image]),
		"field": img.path,
	}
}

allowed(image) if {
	some prefix in data.registries.allowed
	startswith(image, prefix)
}
