# METADATA
# description: A workload names its owning team in metadata.annotations (key from data.podium_config.owner_annotation, default "owner"); required in prod, a warning elsewhere.
package podium.owner_annotation

import rego.v1

default key := "owner"

key := data.podium_config.owner_annotation

missing if not input.workload.metadata.annotations[key]

message := sprintf("workload %s has no %s annotation naming its owner", [input.workload.metadata.name, key])

deny contains finding if {
	input.environment.tier == "prod"
	missing
	finding := {"msg": message, "path": ["metadata"]}
}

warn contains finding if {
	input.environment.tier != "prod"
	missing
	finding := {"msg": message, "path": ["metadata"]}
}
