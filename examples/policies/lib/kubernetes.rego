# Helpers the example policies share: which objects run pods, and where their images are.
package lib.kubernetes

import rego.v1

# The path of the pod spec inside each kind of workload.
pod_spec_path = ["spec"] if input.kind == "Pod"

pod_spec_path = ["spec", "template", "spec"] if {
	input.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}
}

pod_spec_path = ["spec", "jobTemplate", "spec", "template", "spec"] if input.kind == "CronJob"

is_workload if pod_spec_path

# Every container of the workload, with the field path of its image, e.g.
# {"name": "web", "image": "nginx:1.27", "path": "spec.template.spec.containers[0].image"}.
images contains {"name": c.name, "image": c.image, "path": path} if {
	spec := object.get(input, pod_spec_path, {})
	some field in ["initContainers", "containers", "ephemeralContainers"]
	some i, c in spec[field]
	path := sprintf("%s.%s[%d].image", [concat(".", pod_spec_path), field, i])
}
