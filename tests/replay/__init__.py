"""Replay tests: recorded subscription histories replayed against today's workflow code."""
