"""Live channel connectors: one client and one mapper per channel, tested against local fakes."""
