"""Typed errors that carry their context, so a message names the file, rule, row or setting at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class AcornError(Exception):
    """Base of ACORN's errors."""


class ConfigError(AcornError):
    """A configuration file or setting is missing or wrong; the message names it."""

    def __init__(self, source: str, message: str, *, field: str | None = None) -> None:
        self.source = source
        self.field = field
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")


class LoadError(AcornError):
    """A batch that would break the warehouse's integrity; nothing of it is written."""


class BatchDataError(AcornError):
    """A value of the batch that a step cannot take (the warehouse refused it at COPY, say): retrying reads
    the same data. The message names the batch and what was refused."""


class ReviewRequestStale(AcornError):
    """An answer was given to a review request that is not (or no longer) the one to answer: another run's,
    or one a later request of the same run replaced. Nothing is recorded."""


class InvalidInput(AcornError):
    """A request's parameter is wrong (unknown value, wrong type, too long); nothing was written. ``field``
    names the parameter, for the 4xx answer."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class UnknownItems(InvalidInput):
    """Answers were given for review items that do not exist; nothing was written."""


class ItemsTaken(AcornError):
    """Some of the review items were answered by someone else meanwhile (compare-and-set lost); nothing was
    written. ``taken`` maps each item to who answered it, what and when."""

    def __init__(self, taken: dict[str, dict]) -> None:
        self.taken = taken
        who = sorted({t["by"] for t in taken.values()})
        super().__init__(
            f"{len(taken)} of the items were answered already (by {', '.join(who)}): nothing was written"
        )


class WarehouseUnavailable(AcornError):
    """The warehouse cannot be reached with the configured setting."""


def read_yaml(path: Path, what: str, hint: str = "") -> Any:
    """Read a YAML configuration file; a missing or malformed file fails naming the file and ``what`` it is."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), f"{what} not found{hint}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), f"not valid YAML: {exc}") from None
