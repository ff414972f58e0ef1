package bench.replicas

import rego.v1

# METADATA
# title: Single replica
# custom:
#   id: BENCH-004
#   severity: LOW
warn contains msg if {
	input.kind == "Deployment"
	object.get(input.spec, "replicas", 1) < 2
	msg := sprintf("deployment %q runs one replica", [input.metadata.name])
}
