# METADATA
# description: In prod every container declares CPU and memory limits, so one workload cannot starve the others.
package podium.limits_required

import rego.v1

deny contains finding if {
	input.environment.tier == "prod"
	some name, container in input.workload.containers
	some resource in ["cpu", "memory"]
	not container.resources.limits[resource]
	finding := {
		"msg": sprintf("container %s: no %s limit (resources.limits.%s) in prod", [name, resource, resource]),
		"path": ["containers", name],
	}
}
