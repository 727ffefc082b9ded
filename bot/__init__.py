"""Composition root: settings, CLI, server, scheduler and delivery worker."""
