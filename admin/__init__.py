"""Administration: users, channels, units, categories, settings."""
