package bench.probes

import rego.v1

import data.lib.kubernetes as k8s

# METADATA
# title: Container without readiness probe
# custom:
#   id: BENCH-005
#   severity: LOW
warn contains msg if {
	spec := object.get(input, k8s.pod_spec_path, {})
	some c in object.get(spec, "containers", [])
	not c.readinessProbe
	msg := sprintf("container %q has no readiness probe", [c.name])
}
