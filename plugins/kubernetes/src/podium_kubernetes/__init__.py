"""podium-kubernetes: Score workloads as Kubernetes objects (render, podman kube play, cluster)."""
