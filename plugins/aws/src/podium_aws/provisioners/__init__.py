"""The resource provisioners podium-aws registers."""
