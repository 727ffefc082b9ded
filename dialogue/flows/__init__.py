"""The conversation flows: ideas, campaigns, pulses and check-ins, questions, help."""
