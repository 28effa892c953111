package podium.no_privileged_test

import data.podium.no_privileged
import rego.v1

deployment(context) := {
	"kind": "Deployment",
	"metadata": {"name": "web"},
	"spec": {"template": {"spec": {"containers": [{"name": "main", "securityContext": context}]}}},
}

test_privileged_container_is_denied if {
	count(no_privileged.deny_rendered) == 1 with input.rendered as [deployment({"privileged": true})]
}

test_privilege_escalation_is_denied if {
	count(no_privileged.deny_rendered) == 1 with input.rendered as [deployment({"allowPrivilegeEscalation": true})]
}

test_unprivileged_passes if {
	count(no_privileged.deny_rendered) == 0 with input.rendered as [deployment({"privileged": false, "runAsNonRoot": true})]
}

test_compose_service_is_checked_too if {
	count(no_privileged.deny_rendered) == 1 with input.rendered as [{"kind": "ComposeService", "metadata": {"name": "db"}, "privileged": true}]
}
