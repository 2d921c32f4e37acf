"""Events: the catalogue, the transactional outbox and the events API."""
