"""LendBridge: a partner-embedded lending platform (server package)."""

__version__ = "0.1.0"
