"""Authentication: API keys that belong to an organisation, stored hashed, shown once."""
