"""The workloads of `bench/run.py`, one module each.

Every module has `GROUP` (its name for `--only`) and `run(ctx: bench.measure.Run) -> list[dict]` (its result
rows, `bench.report.summarise` shape). Region ids a workload creates go into `ctx.created`, deleted at the end.
`statistics` also serves `bench/stats_driver.py`.
"""
