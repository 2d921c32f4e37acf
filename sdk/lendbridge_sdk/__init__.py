"""LendBridge Python SDK."""
