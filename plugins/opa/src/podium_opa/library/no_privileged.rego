# METADATA
# description: No rendered object runs a privileged container or allows privilege escalation (Kubernetes securityContext, compose's privileged).
package podium.no_privileged

import rego.v1

deny_rendered contains finding if {
	some object in input.rendered
	walk(object, [path, value])
	count(path) > 0
	path[count(path) - 1] in {"privileged", "allowPrivilegeEscalation"}
	value == true
	# The path is data, not text: rego-cpp's sprintf mangles strings built by concat.
	finding := {"msg": sprintf("%s %s runs with %s", [object.kind, object.metadata.name, path[count(path) - 1]]), "path": path}
}
