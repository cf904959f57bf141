"""Synthetic data: ``python -m analysis generate``.

MINIMAL WIRING by the service-events work (issue 6): only ``--scale large`` is implemented here, by
:func:`analysis.events.synthetic.write_large_calls`. The sample bank generator (``--scale sample``)
belongs to another piece of work; when it lands, its ``main`` replaces this file and keeps the
``scale == "large"`` dispatch below.
"""

from __future__ import annotations

from pathlib import Path

from analysis import config


def main(out: Path | str = config.RAW_DIR, seed: int = config.DEFAULT_SEED, scale: str = "sample", rows: int = 10_000_000) -> Path:
    out = Path(out)
    if scale == "large":
        if out.resolve() == config.RAW_DIR.resolve():
            raise ValueError("--scale large writes millions of call records: give --out DIR outside data/raw")
        from analysis.events.synthetic import write_large_calls

        path = write_large_calls(out, seed=seed, rows=rows)
        print(f"{rows:,} call records (canonical columns, Parquet) in {path}")
        return path
    raise ValueError(f"--scale {scale}: the sample bank generator is not part of this build yet")
