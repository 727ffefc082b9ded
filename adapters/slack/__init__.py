"""Slack adapter (Bolt); built in a later issue."""
