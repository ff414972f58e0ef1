package bench.owner_annotation

import rego.v1

# METADATA
# title: No owner annotation
# custom:
#   id: BENCH-007
#   severity: INFO
warn contains msg if {
	annotations := object.get(input.metadata, "annotations", {})
	not annotations["example.com/owner"]
	msg := sprintf("%s %q has no example.com/owner annotation", [input.kind, input.metadata.name])
}
