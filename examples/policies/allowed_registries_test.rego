package kubernetes.allowed_registries_test

import rego.v1

import data.kubernetes.allowed_registries

pod(image) := {
	"apiVersion": "v1",
	"kind": "Pod",
	"metadata": {"name": "p"},
	"spec": {"containers": [{"name": "app", "image": image}]},
}

# The allowed list comes from data.yaml next to the policies.
test_allowed_registry_passes if {
	count(allowed_registries.deny) == 0 with input as pod("registry.example.com/shop/web:2.1.0")
}

test_docker_hub_is_denied if {
	results := allowed_registries.deny with input as pod("nginx:1.27")
	results == {{
		"msg": "container \"app\" uses \"nginx:1.27\", which is not from an allowed registry",
		"field": "spec.containers[0].image",
	}}
}

test_list_comes_from_data if {
	count(allowed_registries.deny) == 0 with input as pod("nginx:1.27") with data.registries.allowed as ["nginx"]
}

test_cronjob_path if {
	cronjob := {
		"apiVersion": "batch/v1",
		"kind": "CronJob",
		"metadata": {"name": "nightly"},
		"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "job", "image": "quay.io/x/job:1"}]}}}}},
	}
	some r in allowed_registries.deny with input as cronjob
	r.field == "spec.jobTemplate.spec.template.spec.containers[0].image"
}
