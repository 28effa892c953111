package podium.owner_annotation_test

import data.podium.owner_annotation
import rego.v1

workload(annotations) := {"metadata": {"name": "web", "annotations": annotations}, "containers": {}}

test_owned_passes_everywhere if {
	count(owner_annotation.deny) == 0 with input.workload as workload({"owner": "team-shop"})
		with input.environment.tier as "prod"
	count(owner_annotation.warn) == 0 with input.workload as workload({"owner": "team-shop"})
		with input.environment.tier as "dev"
}

test_unowned_is_denied_in_prod_and_warned_elsewhere if {
	count(owner_annotation.deny) == 1 with input.workload as workload({})
		with input.environment.tier as "prod"
	count(owner_annotation.warn) == 1 with input.workload as workload({})
		with input.environment.tier as "dev"
	count(owner_annotation.deny) == 0 with input.workload as workload({})
		with input.environment.tier as "dev"
}

test_the_key_is_configurable if {
	count(owner_annotation.deny) == 0 with input.workload as {"metadata": {"name": "w", "annotations": {"team": "x"}}}
		with input.environment.tier as "prod"
		with data.podium_config.owner_annotation as "team"
}
