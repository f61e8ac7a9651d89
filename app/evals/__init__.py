"""Evaluations of a deployed (or local) app against a golden dataset: `python -m app.evals`.

dataset.py reads the JSONL, runner.py calls the app with bounded concurrency, scorers.py scores
each answer (deterministic checks plus an optional judge model through the app's own routing),
report.py summarises, checks thresholds and compares two runs.
"""
