"""Data quality: GX Core suites defined in code, row-level quarantine and a batch verdict."""
