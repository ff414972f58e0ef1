package kubernetes.image_tags_test

import rego.v1

import data.kubernetes.image_tags

deployment(image) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web"},
	"spec": {"template": {"spec": {
		"initContainers": [{"name": "init", "image": "registry.example.com/init:1.0"}],
		"containers": [{"name": "web", "image": image}],
	}}},
}

test_latest_is_denied if {
	results := image_tags.deny_latest_tag with input as deployment("registry.example.com/web:latest")
	results == {{
		"msg": "container \"web\" uses \"registry.example.com/web:latest\": pin a version tag or a digest",
		"field": "spec.template.spec.containers[0].image",
	}}
}

test_missing_tag_is_denied if {
	count(image_tags.deny_latest_tag) == 1 with input as deployment("registry.example.com:5000/web")
}

test_version_tag_passes if {
	count(image_tags.deny_latest_tag) == 0 with input as deployment("registry.example.com/web:1.4.2")
}

test_digest_passes if {
	digest := "registry.example.com/web@sha256:4c1a7e32f4c7d1e0b6c1d5e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3"
	count(image_tags.deny_latest_tag) == 0 with input as deployment(digest)
}
