"""Risk findings: duplicate refunds, refunds above what was paid, serial returners."""
