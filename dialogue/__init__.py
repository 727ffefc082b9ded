"""The platform-agnostic core: domain types, conversation flows and the ports they need.

Nothing here knows about Slack, Teams, databases or schedulers; adapters and storage
plug into the protocols in :mod:`dialogue.ports`.
"""
