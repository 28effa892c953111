"""The resource provisioners podium-local registers."""
