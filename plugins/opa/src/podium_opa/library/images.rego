# Helpers about container images, shared by the library's checks.
package podium_lib.images

import rego.v1

# Score's "." means "built from this repository": never floating, never a registry.
built_here(image) if image == "."

digest(image) if contains(image, "@")

# The last path segment carries the tag: "host:5000/team/app" has none.
tag(image) := t if {
	not digest(image)
	segments := split(image, "/")
	last := segments[count(segments) - 1]
	contains(last, ":")
	parts := split(last, ":")
	t := parts[count(parts) - 1]
}

floating(image) if {
	not built_here(image)
	not digest(image)
	not tag(image)
}

floating(image) if tag(image) == "latest"
