"""Text encodings of the CSV files banks export.

Order matters: UTF-8 (with or without BOM) is tried strictly first, then GB18030 (a superset of GBK
and GB2312). GB18030 decodes almost any byte string, so trying it first would turn UTF-8 files into
silent mojibake.
"""

from __future__ import annotations

import codecs
from pathlib import Path


class EncodingError(ValueError):
    """A file that is neither UTF-8/UTF-16 nor GB18030."""


def decode_bytes(data: bytes, name: str = "<bytes>") -> tuple[str, str]:
    """Decode raw file bytes; return ``(text, encoding)``.

    Encodings reported: ``utf-8-sig``, ``utf-8``, ``utf-16`` (BOM only) or ``gb18030``.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{name}: cannot decode as UTF-8 or GB18030 (byte {exc.start}: {data[exc.start:exc.start + 4]!r})"
        ) from exc


def read_text(path: Path | str) -> tuple[str, str]:
    """Read a text file with its encoding detected; return ``(text, encoding)``."""
    path = Path(path)
    return decode_bytes(path.read_bytes(), str(path))
