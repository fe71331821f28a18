"""Typed errors that carry their context, so a message names the file, rule, row or setting at fault."""

from __future__ import annotations


class AcornError(Exception):
    """Base of ACORN's errors."""


class ConfigError(AcornError):
    """A configuration file or setting is missing or wrong; the message names it."""

    def __init__(self, source: str, message: str, *, field: str | None = None) -> None:
        self.source = source
        self.field = field
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")


class WarehouseUnavailable(AcornError):
    """The warehouse cannot be reached with the configured setting."""
