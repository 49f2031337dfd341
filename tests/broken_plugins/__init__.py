"""Fixture plugin modules for the registry tests: one good plugin and one per way a plugin can break."""
