"""Fault and scale tests: several real ``nextpractice serve`` processes on one PostgreSQL database."""
