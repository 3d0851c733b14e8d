"""Benchmarks (`make bench`): the system measured against this machine's own limits.

cli.py        python -m bench: arguments, refusals, report files
runner.py     runs the chosen scenarios, each with its own throwaway org
registry.py   the Scenario base class, @scenario, and the scenarios not built yet
context.py    what a scenario works with: orgs, gunicorn, jobs, figures and checks
data.py       set-wise data: orgs, customers, ledger histories
sql.py        INSERT ... SELECT from model defaults, triggers off, ANALYZE
cleanup.py    dropping a benchmark org and all its rows, set-wise
http.py       gunicorn on 127.0.0.1 and a threaded load generator
jobs.py       jobs on a real Celery worker (REDIS_URL) or in-process
timing.py     raw-SQL latencies (references) and a bounded hammer of threads
checks.py     set-wise ledger invariant checks
worker_main.py  entry point of the harness's own Celery worker
stats.py      percentiles and latency summaries
results.py    figures, checks, scenario results, the run report
report.py     the table and the JSON file
scenarios/    one file per scenario
"""
