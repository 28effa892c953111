# METADATA
# description: Images come from the registries the platform allows ([plugins.opa] allowed_registries).
package podium.allowed_registries

import data.podium_lib.images
import rego.v1

default allowed := []

allowed := data.podium_config.allowed_registries

permitted(image) if images.built_here(image)

permitted(image) if {
	some prefix in allowed
	startswith(image, prefix)
}

deny contains finding if {
	count(allowed) > 0
	some name, container in input.workload.containers
	not permitted(container.image)
	finding := {
		"msg": sprintf("container %s: image %s is not from a registry [plugins.opa] allowed_registries allows", [name, container.image]),
		"path": ["containers", name, "image"],
	}
}
