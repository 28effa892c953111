# METADATA
# description: An image must be pinned to a tag or digest outside dev; ":latest" or no tag is not reproducible.
package podium.no_latest_image

import data.podium_lib.images
import rego.v1

deny contains finding if {
	input.environment.tier != "dev"
	some name, container in input.workload.containers
	images.floating(container.image)
	finding := {
		"msg": sprintf("container %s: image %s is not pinned to a tag or digest", [name, container.image]),
		"path": ["containers", name, "image"],
	}
}
