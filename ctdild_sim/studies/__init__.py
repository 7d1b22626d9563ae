"""Questions answered by many runs: the lot plan (the reorder policy that meets a stock-out target
with the fewest lots, confirmed on fresh seeds).

May import: ``runs`` and every layer below it.
"""
