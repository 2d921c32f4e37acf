"""Tenants (operator, institutions, partners), staff, API keys, OAuth clients and scopes."""
