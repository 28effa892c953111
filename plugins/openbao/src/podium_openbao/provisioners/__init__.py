"""podium-openbao's provisioners."""
