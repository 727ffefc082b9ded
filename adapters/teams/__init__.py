"""Microsoft Teams adapter (botbuilder); built in a later issue."""
