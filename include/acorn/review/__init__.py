"""Review: what a person decides on, and how their answers are kept.

``requests``: the run's review task claims its open items in one request and resolves those still open.
``queue``: the reviewer's page lists the open items with the facts a person decides on.
``answers``: an answer per item, given once, from the page or from the review task.
``switch``: the kill switch's audited changes.
``export``: the audit log, decisions and answers of the last days, as CSV and Parquet.
"""
