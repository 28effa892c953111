package podium.no_latest_image_test

import data.podium.no_latest_image
import rego.v1

# Values given to `with` are literals, locals or function calls: regopy evaluates a
# rule reference there as undefined.
environment(tier) := {"name": tier, "tier": tier}

workload(image) := {"metadata": {"name": "web"}, "containers": {"main": {"image": image}}}

test_latest_is_denied_in_prod if {
	count(no_latest_image.deny) == 1 with input.workload as workload("nginx:latest")
		with input.environment as environment("prod")
}

test_untagged_is_denied if {
	count(no_latest_image.deny) == 1 with input.workload as workload("ghcr.io/acme/web")
		with input.environment as environment("prod")
}

test_registry_port_is_not_a_tag if {
	count(no_latest_image.deny) == 1 with input.workload as workload("registry:5000/web")
		with input.environment as environment("prod")
}

test_tag_digest_and_built_here_pass if {
	count(no_latest_image.deny) == 0 with input.workload as workload("nginx:1.27")
		with input.environment as environment("prod")
	count(no_latest_image.deny) == 0 with input.workload as workload("nginx@sha256:0123")
		with input.environment as environment("prod")
	count(no_latest_image.deny) == 0 with input.workload as workload(".")
		with input.environment as environment("prod")
}

test_dev_allows_latest if {
	count(no_latest_image.deny) == 0 with input.workload as workload("nginx:latest")
		with input.environment as environment("dev")
}

test_finding_points_at_the_image if {
	some finding in no_latest_image.deny with input.workload as workload("nginx")
		with input.environment as environment("prod")
	finding.path == ["containers", "main", "image"]
}
