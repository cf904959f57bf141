"""The campaign's per-unit view: bank-wide figures computed once per run (``shared``), the rule that
picks the three things a unit should fix first (``fixes``), and the sections of the unit scorecard
page (``page``, used by ``notebooks/units/unit_scorecard.ipynb``)."""
