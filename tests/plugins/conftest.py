"""The plugin's tests use the review tests' warehouse: two demo accounts loaded once, copied per test."""

from tests.integration.review.conftest import loaded_template, two_accounts, warehouse_dsn  # noqa: F401
