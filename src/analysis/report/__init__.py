"""Publishing: run the notebooks (``runner``), export offline HTML pages (``export``), the index
page (``index``), and display helpers for notebooks (``display``).

``python -m analysis run`` is :func:`analysis.report.runner.run_suite`.
"""
