"""The ``local`` deployer: containers as supervised local processes."""
