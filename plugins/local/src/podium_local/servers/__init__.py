"""Real servers podium-local starts per environment: PostgreSQL, redis, nginx, supervisord."""
