"""Platform config: ``podium.toml`` models and loading with located errors."""
