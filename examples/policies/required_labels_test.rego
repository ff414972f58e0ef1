package kubernetes.required_labels_test

import rego.v1

import data.kubernetes.required_labels

deployment(labels) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web", "labels": labels},
	"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "registry.example.com/web:1.4.2"}]}}},
}

test_labelled_deployment_passes if {
	count(required_labels.deny) == 0 with input as deployment({"app.kubernetes.io/name": "web", "team": "payments"})
}

test_missing_team_is_denied if {
	results := required_labels.deny with input as deployment({"app.kubernetes.io/name": "web"})
	results == {{"msg": "Deployment web has no \"team\" label", "field": "metadata.labels"}}
}

test_no_labels_at_all_names_both if {
	input_without_labels := json.remove(deployment({}), ["metadata/labels"])
	results := required_labels.deny with input as input_without_labels
	count(results) == 2
}

test_configmap_is_not_a_workload if {
	count(required_labels.deny) == 0 with input as {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
}
