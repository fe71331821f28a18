"""Great Expectations, imported quietly: the one place ACORN imports GX from.

GX logs its own start-up at INFO (a dozen "Skipping registering function ..." lines and the ephemeral docs
folder), which filled a batch task's log; its loggers are set to WARNING *before* GX is imported, so a task
log shows ACORN's counts and GX's warnings only. Import this module inside the task that validates: GX takes
seconds to import, and no other task needs it.
"""

import logging

logging.getLogger("great_expectations").setLevel(logging.WARNING)

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402

__all__ = ["gx", "gxe"]
