"""`kspec tune`: hyperparameter search over a spec's `search:` section with Optuna.

Each trial is a normal kspec run directory; the study lives in a database (SQLite by default, PostgreSQL for
workers on several machines) and survives `kill -9`. See `kspec.tune.runner.tune`.
"""
