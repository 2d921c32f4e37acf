"""Test-mode API: test clocks and simulator controls (`/v1/test_clocks`, `/v1/sandbox/...`)."""
