"""HTTP edge: problem+json errors, request lifecycle, auth, idempotency, rate limits, docs."""
