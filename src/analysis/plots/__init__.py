"""Figures. Importing this package sets matplotlib up to draw Chinese with the bundled CJK font.

The font is Noto Sans CJK SC (SIL Open Font License), shipped by the ``mplfonts`` wheel that the
install pins; it is registered with matplotlib from here, without touching matplotlib's own folders
or relying on the machine's fonts. (The same wheel carries SimHei, which is proprietary: never used.)

Every plot function in this package takes ``ax=None`` and returns the axes, the seaborn habit.

In a notebook kernel, figures are sent to the page as PNG drawn at twice their size (sharp on phones,
retina screens and paper) and shown at their 1x size, with alt text that says what the figure shows
(:func:`set_alt`, else its titles and axis labels: :func:`alt_text`).
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


def share_axis(ax, axis: str = "y"):
    """A share (or rate) axis that does not start at 0 is drawn as clearly broken: two slanted marks
    across the axis line at its low end and "（轴未从0开始）" in the axis label. An axis from 0 is
    left as it is. Call after the limits are set. Returns the axes."""
    lo, _ = ax.get_ylim() if axis == "y" else ax.get_xlim()
    if lo <= 0:
        return ax
    kw = {"transform": ax.transAxes, "color": "#1d2430", "clip_on": False, "linewidth": 1.2}
    for d in (-0.012, 0.012):
        if axis == "y":
            ax.plot([-0.015, 0.015], [0.02 + d - 0.012, 0.02 + d + 0.012], **kw)
        else:
            ax.plot([0.02 + d - 0.008, 0.02 + d + 0.008], [-0.03, 0.03], **kw)
    label = ax.get_ylabel() if axis == "y" else ax.get_xlabel()
    note = "（轴未从0开始）"
    if note not in label:
        (ax.set_ylabel if axis == "y" else ax.set_xlabel)(f"{label}{note}")
    return ax


def set_alt(fig_or_ax, text: str) -> None:
    """The alt text of a figure (what it shows, in words) for readers who cannot see it."""
    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    fig._analysis_alt = str(text)


def alt_text(fig) -> str:
    """A figure's alt text: the one given by :func:`set_alt`, else its title and each panel's title
    and axis labels ("图：各网点平均等候时间（横轴：网点；纵轴：分钟）")."""
    given = getattr(fig, "_analysis_alt", None)
    if given:
        return given
    parts = []
    sup = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    for ax in fig.axes:
        if not ax.get_visible() or not ax.has_data():
            continue
        title = " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t).replace("\n", " ")
        if not title and (parts or sup):  # an untitled extra axes (a colour bar) adds nothing to say
            continue
        labels = "；".join(f"{k}：{v}" for k, v in (("横轴", ax.get_xlabel()), ("纵轴", ax.get_ylabel())) if v)
        part = title + (f"（{labels}）" if labels else "")
        if part and part not in parts:
            parts.append(part)
    text = "；".join(p for p in [sup.replace("\n", " ")] + parts if p)
    return f"图：{text}" if text else "图表"


def _palette_png(data: bytes) -> bytes:
    """The PNG with at most 256 colours (a chart's flat colours and their anti-aliased edges survive;
    about a third of the bytes, so a page of 2x figures stays under its size budget)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        out = io.BytesIO()
        small.save(out, format="PNG")
    return out.getvalue() if out.tell() < len(data) else data


def figure_png(fig):
    """(base64 PNG at 2x, metadata): shown at the 1x width and height, with the alt text."""
    from IPython.core.pylabtools import _pngxy, print_figure

    data = print_figure(fig, fmt="retina", base64=False, bbox_inches="tight")
    if data is None:
        return None
    import base64

    w, h = _pngxy(data)
    data = _palette_png(data)
    return base64.b64encode(data).decode("ascii"), {"width": w // 2, "height": h // 2, "alt": alt_text(fig)}


def _register_inline_figures() -> None:
    """In an IPython kernel with the inline backend: every figure as :func:`figure_png`."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None or not hasattr(ip, "display_formatter"):
        return
    backend = matplotlib.get_backend()
    if "inline" not in backend.lower():
        return
    import importlib

    # importing the backend activates it: it sets its own formatters then, once, so ours come after
    importlib.import_module(backend.removeprefix("module://") if backend.startswith("module://") else "matplotlib_inline.backend_inline")
    from matplotlib.figure import Figure

    ip.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


setup()
_register_inline_figures()
