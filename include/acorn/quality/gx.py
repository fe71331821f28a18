"""Great Expectations, imported quietly: the one place ACORN imports GX from.

GX logs its own start-up at INFO (a dozen "Skipping registering function ..." lines and the ephemeral docs
folder: about 200 lines), which filled a batch task's log; its loggers are set to WARNING *before* GX is
imported, so a task log shows ACORN's counts and GX's warnings only. Nothing else imports ``great_expectations``
(a test holds the tree to it): any GX module imported first would log its start-up before this runs. Import this module inside the task that validates: GX takes
seconds to import, and no other task needs it.
"""

import logging

logging.getLogger("great_expectations").setLevel(logging.WARNING)

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.execution_engine import pandas_execution_engine  # noqa: E402

# one GX module sets its own logger to INFO when imported (the ephemeral docs folder); put it back
logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

__all__ = ["ProgressBarsConfig", "gx", "gxe", "skip_batch_fingerprints"]


def skip_batch_fingerprints() -> None:
    """Stop GX from fingerprinting every DataFrame it validates (pandas' row hashes, then MD5, for a batch
    marker nothing of ACORN's reads): on a large batch that is most of the suites' time. GX has no setting
    for it, so its module constant is set; if a release drops the constant, the suites only get slower again
    (``make bench`` shows it)."""
    pandas_execution_engine.HASH_THRESHOLD = 0
