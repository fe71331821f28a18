"""Airflow-side adapters for ACORN: connections, the landing area, the batch task group, the demo runner.

Nothing here holds business logic; each task is a call into ``acorn`` plus logging. Modules import only
``airflow.sdk`` and the standard library at import time, so DAG files that use them parse fast.
"""
