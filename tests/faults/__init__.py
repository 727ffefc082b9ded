"""Fault tests: flaky platforms, a database outage, duplicate deliveries under load."""
