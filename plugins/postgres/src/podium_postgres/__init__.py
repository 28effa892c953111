"""podium-postgres: keep Podium state in a PostgreSQL database a team shares."""

__version__ = "0.1.0"
