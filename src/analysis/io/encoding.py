"""Text encodings of the CSV files banks export.

Order matters: UTF-8 (with or without BOM) is tried strictly first, then GB18030 (a superset of GBK
and GB2312). GB18030 decodes almost any byte string, so trying it first would turn UTF-8 files into
silent mojibake.

Known ambiguity: about 930 GB2312 characters, encoded in GB18030, are valid UTF-8 on their own
('蹮', '襽', '聫'), so a file holding only one or two Chinese characters can be misread whichever
order is tried. Real exports carry many characters per file, and then the detection is reliable.

:func:`decode_lines` is what the CSV reader uses: a byte that neither encoding can read spoils its
line only (the line is reported with its number), not the whole file.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import InputValueError


class EncodingError(InputValueError):
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


def _replace_one_byte(exc: UnicodeDecodeError) -> tuple[str, int]:
    """Replace only the first bad byte: the codec's own "replace" may swallow the bytes after it
    (GB18030 reads ``81 30 22`` as one broken four-byte sequence, eating the quote ``"``)."""
    return "\ufffd", exc.start + 1


codecs.register_error("analysis-replace-one", _replace_one_byte)


@dataclass
class DecodedLines:
    """A text file as physical lines (without their line breaks)."""

    lines: list[str]
    encoding: str
    bad: dict[int, str] = field(default_factory=dict)  # 0-based line index -> why it cannot be read
    ends_with_newline: bool = True


def _split_text(text: str) -> tuple[list[str], bool]:
    """Physical lines on \\n (\\r\\n and a lone \\r in old Mac files too); never on the other
    characters ``str.splitlines`` breaks at (\\x0b, \\x1c, \\u2028 ... may sit inside a field)."""
    if not text:
        return [], True
    if "\n" not in text and "\r" in text:
        parts = text.split("\r")
    else:
        parts = text.split("\n")
        parts = [p[:-1] if p.endswith("\r") else p for p in parts]
    ends = parts[-1] == ""
    if ends:
        parts.pop()
    return parts, ends


def _first_error(raw: bytes, encoding: str) -> UnicodeDecodeError | None:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as exc:
        return exc
    return None


def decode_lines(data: bytes) -> DecodedLines:
    """Decode ``data`` into physical lines. A line with a byte the file's encoding cannot read is kept
    (decoded with U+FFFD in place of the bad bytes, so the record structure around it survives) and
    listed in ``bad`` with the byte and its position in the line."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, enc = decode_bytes(data)
        lines, ends = _split_text(text)
        return DecodedLines(lines, enc, {}, ends)
    enc_given = None
    if data.startswith(codecs.BOM_UTF8):
        data, enc_given = data[len(codecs.BOM_UTF8) :], "utf-8-sig"
    try:
        lines, ends = _split_text(data.decode("utf-8"))
        return DecodedLines(lines, enc_given or "utf-8", {}, ends)
    except UnicodeDecodeError:
        pass
    raw_lines = data.split(b"\n")
    ends = raw_lines[-1] == b""
    if ends:
        raw_lines.pop()
    raw_lines = [r[:-1] if r.endswith(b"\r") else r for r in raw_lines]
    if enc_given:
        encoding = "utf-8"
    else:
        # UTF-8 with a few bad bytes, or GB18030? Most lines with non-ASCII bytes tell: in a GBK
        # file almost none of them is valid UTF-8; in a damaged UTF-8 file almost all are.
        # A file that GB18030 reads whole is GB18030 unless most such lines are UTF-8.
        non_ascii = [r for r in raw_lines if not r.isascii()][:5_000]  # a sample decides
        utf8_bad = sum(_first_error(r, "utf-8") is not None for r in non_ascii)
        utf8_ok = len(non_ascii) - utf8_bad
        if utf8_ok > utf8_bad:
            encoding = "utf-8"
        else:
            try:
                lines, ends = _split_text(data.decode("gb18030"))
                return DecodedLines(lines, "gb18030", {}, ends)
            except UnicodeDecodeError:
                pass
            encoding = "utf-8" if utf8_ok >= utf8_bad else "gb18030"
    codec = "utf-8" if encoding == "utf-8" else "gb18030"
    lines, bad = [], {}
    for i, r in enumerate(raw_lines):
        try:
            lines.append(r.decode(codec))
        except UnicodeDecodeError as exc:
            name = "UTF-8" if codec == "utf-8" else "GB18030"
            bad[i] = f"byte {r[exc.start:exc.start + 1].hex().upper()} at byte {exc.start + 1} of the line cannot be read as {name}"
            lines.append(r.decode(codec, errors="analysis-replace-one"))
    return DecodedLines(lines, enc_given or encoding, bad, ends)
