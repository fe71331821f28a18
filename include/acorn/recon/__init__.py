"""Reconciliation: the money ACORN saw against what the channels and the settlements say it was.

Today: a batch's control totals against its rows (:mod:`acorn.recon.control_totals`). Settlements against
refunds, and reimbursements against claims, come here as the claim lifecycle grows (the warehouse views
``mart.refund_settlement`` and ``mart.claim_recovery`` show them to analysts meanwhile).
"""
