"""The ``aws-ecs`` deployer and what it builds: task definitions, IAM roles, log groups."""
