package bench.no_host_path

import rego.v1

import data.lib.kubernetes as k8s

# METADATA
# title: hostPath volume
# custom:
#   id: BENCH-001
#   severity: HIGH
deny contains msg if {
	spec := object.get(input, k8s.pod_spec_path, {})
	some v in object.get(spec, "volumes", [])
	v.hostPath
	msg := sprintf("volume %q mounts a host path", [v.name])
}
