"""Channels: where refunds come from. One module per channel; ``demo`` is the seeded generator."""
