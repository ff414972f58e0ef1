# METADATA
# title: Workload without the required labels
# description: >-
#   Every workload carries the labels app.kubernetes.io/name and team, so that alerts,
#   costs and incidents reach the people who own it.
# related_resources:
# - https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/
# custom:
#   id: ORG-K8S-001
#   severity: MEDIUM
#   recommended_actions:
#   - Add the missing labels under metadata.labels.
#   input:
#     selector:
#     - type: kubernetes
package kubernetes.required_labels

import rego.v1

import data.lib.kubernetes as k8s

required := {"app.kubernetes.io/name", "team"}

deny contains result if {
	k8s.is_workload
	provided := {label | some label, _ in input.metadata.labels}
	some missing in required - provided
	result := {
		"msg": sprintf("%s %s has no %q label", [input.kind, input.metadata.name, missing]),
		"field": "metadata.labels",
	}
}
