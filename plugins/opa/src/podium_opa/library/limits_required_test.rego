package podium.limits_required_test

import data.podium.limits_required
import rego.v1

environment(tier) := {"name": tier, "tier": tier}

with_limits(limits) := {"metadata": {"name": "web"}, "containers": {"main": {"image": "web:1", "resources": {"limits": limits}}}}

test_both_limits_pass if {
	count(limits_required.deny) == 0 with input.workload as with_limits({"cpu": "500m", "memory": "256Mi"})
		with input.environment as environment("prod")
}

test_each_missing_limit_is_reported if {
	count(limits_required.deny) == 1 with input.workload as with_limits({"cpu": "500m"})
		with input.environment as environment("prod")
	count(limits_required.deny) == 2 with input.workload as {"metadata": {"name": "web"}, "containers": {"main": {"image": "web:1"}}}
		with input.environment as environment("prod")
}

test_only_prod_requires_limits if {
	count(limits_required.deny) == 0 with input.workload as with_limits({})
		with input.environment as {"name": "staging", "tier": "staging"}
}
