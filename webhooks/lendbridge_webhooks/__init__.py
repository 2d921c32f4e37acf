"""Standard Webhooks signing and verification for LendBridge events."""
