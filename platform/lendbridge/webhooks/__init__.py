"""Webhooks, server side: endpoints, signing secrets, deliveries with retries, the SSRF guard."""
