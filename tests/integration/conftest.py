"""Fixtures of the warehouse tests."""

import pytest

from acorn.policy.fx import read_ecb_csv
from acorn.settings import load_settings
from acorn.warehouse.load import load_fx_rates


@pytest.fixture
def fx(conn):
    """The demo's ECB rates in the test warehouse."""
    load_fx_rates(conn, read_ecb_csv(load_settings().fx_file), "test")
