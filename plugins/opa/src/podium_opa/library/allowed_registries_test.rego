package podium.allowed_registries_test

import data.podium.allowed_registries
import rego.v1

workload(image) := {"metadata": {"name": "web"}, "containers": {"main": {"image": image}}}

config(registries) := {"allowed_registries": registries}

test_allowed_prefix_passes if {
	count(allowed_registries.deny) == 0 with input.workload as workload("ghcr.io/acme/web:1")
		with data.podium_config as config(["ghcr.io/acme/"])
}

test_other_registry_is_denied if {
	count(allowed_registries.deny) == 1 with input.workload as workload("docker.io/library/nginx:1")
		with data.podium_config as config(["ghcr.io/acme/"])
}

test_built_here_passes if {
	count(allowed_registries.deny) == 0 with input.workload as workload(".")
		with data.podium_config as config(["ghcr.io/acme/"])
}

test_no_list_means_no_check if {
	count(allowed_registries.deny) == 0 with input.workload as workload("nginx:1")
		with data.podium_config as {"allowed_registries": []}
}
