"""Shared test set-up."""

from hypothesis import settings

# CI has 2 cores and the notebook tests load them: time limits per example would make property
# tests flaky without making them stricter.
settings.register_profile("suite", deadline=None, print_blob=True)
settings.load_profile("suite")
