package bench.requests

import rego.v1

import data.lib.kubernetes as k8s

# METADATA
# title: Container without resource requests
# custom:
#   id: BENCH-002
#   severity: LOW
warn contains msg if {
	spec := object.get(input, k8s.pod_spec_path, {})
	some c in object.get(spec, "containers", [])
	not c.resources.requests
	msg := sprintf("container %q sets no resource requests", [c.name])
}
