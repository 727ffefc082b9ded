"""A local chat in the terminal, for trying the bot and for end-to-end tests."""
