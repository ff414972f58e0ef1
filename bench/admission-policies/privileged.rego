package bench.privileged

import rego.v1

import data.lib.kubernetes as k8s

# METADATA
# title: Privileged container
# custom:
#   id: BENCH-003
#   severity: CRITICAL
deny contains msg if {
	spec := object.get(input, k8s.pod_spec_path, {})
	some field in ["initContainers", "containers"]
	some c in object.get(spec, field, [])
	c.securityContext.privileged == true
	msg := sprintf("container %q is privileged", [c.name])
}
