"""Policy as data: reason taxonomy, refund rules, liability, costs, FX and claims."""
