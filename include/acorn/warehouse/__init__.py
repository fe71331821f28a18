"""The Postgres warehouse: migrations, the embedded server for demo and tests, idempotent loaders."""
