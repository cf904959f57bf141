"""Complaint analytics: any export in (column mappings), personal data out (masking), JR/T 0169
classification, volumes and rates, and the exact test of whether a decrease is real.

- :mod:`analysis.complaints.mapping`  the mapping YAML (canonical field -> source column), the bank layout
- :mod:`analysis.complaints.load`     reading an export with row accounting; the command's outputs
- :mod:`analysis.complaints.classify` JR/T 0169—2018 channel / business type / cause, with an unmapped bucket
- :mod:`analysis.complaints.stats`    monthly volume, breakdowns, rates per outlet and per 10,000 transactions,
  overdue and time to resolve, the per-outlet increment, the conditional binomial rate test
"""
