"""The CrossGuard policy pack (see policies/pack.py) and its offline runner."""
