package bench.default_namespace

import rego.v1

# METADATA
# title: Object in the default namespace
# custom:
#   id: BENCH-006
#   severity: MEDIUM
deny contains msg if {
	object.get(input.metadata, "namespace", "default") == "default"
	msg := sprintf("%s %q is in the default namespace", [input.kind, input.metadata.name])
}
