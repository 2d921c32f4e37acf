"""One-line builders for valid objects in tests."""
