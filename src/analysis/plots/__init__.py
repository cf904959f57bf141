"""Figures. Importing this package sets matplotlib up to draw Chinese with the bundled CJK font.

The font is Noto Sans CJK SC (SIL Open Font License), shipped by the ``mplfonts`` wheel that the
install pins; it is registered with matplotlib from here, without touching matplotlib's own folders
or relying on the machine's fonts. (The same wheel carries SimHei, which is proprietary: never used.)

Every plot function in this package takes ``ax=None`` and returns the axes, the seaborn habit.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
CJK_FONT_NAME = "Noto Sans CJK SC"

# A qualitative palette that survives greyscale printing, and the status colours used everywhere.
PALETTE = ["#1f5aa6", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6cab", "#5c5c5c", "#c46210"]
STATUS_COLORS = {"met": "#2e7d32", "on track": "#66a182", "at risk": "#edae49", "missed": "#c62828", "n/a": "#9e9e9e"}


def cjk_font_path() -> Path:
    """Path of the bundled CJK font (located without importing ``mplfonts``, which has side effects)."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the CJK font package 'mplfonts' is not installed; run `make setup`")
    path = Path(list(spec.submodule_search_locations)[0]) / "fonts" / CJK_FONT_FILE
    if not path.exists():
        raise RuntimeError(f"bundled CJK font not found at {path}")
    return path


_configured = False


def setup() -> None:
    """Register the CJK font and set the house style. Safe to call many times."""
    global _configured
    if _configured:
        return
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(cjk_font_path()))
    matplotlib.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [CJK_FONT_NAME, "DejaVu Sans"],
            "axes.unicode_minus": False,
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "figure.figsize": (8.0, 4.5),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
            "figure.autolayout": False,
            "figure.constrained_layout.use": True,
            # legible at the size shown: nothing below 9 pt at 1x (legends and ticks included)
            "font.size": 10,
            "legend.fontsize": 9,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
        }
    )
    _configured = True


setup()
