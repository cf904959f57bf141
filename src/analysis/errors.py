"""The one root of "bad input" errors.

Everything the analyst can fix by changing an input (an export, a YAML file, a command-line value) is
an :class:`InputError`: the command line prints it as ``error: <file, line, column: message>`` and exits
with code 2. Any other exception is a bug: exit code 1, with the traceback written to a log file.

This module imports nothing heavy, so the command line can catch these errors without loading pandas.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input, named by where it is: ``path`` (a file), ``line`` and ``column`` when known."""

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None, column: str | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.column = column
        super().__init__(self._text())

    def _text(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def __reduce__(self):
        # Picklable with its keywords, so an error raised in a worker process reaches the command line.
        # (Subclasses with other constructor signatures and extra attributes come back whole too.)
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls, args):
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    return err


class InputValueError(InputError, ValueError):
    """Bad input that callers have long caught as ``ValueError`` (a period, a parameter, a key)."""


class MissingInputError(InputError, FileNotFoundError):
    """An input file or folder that is not there (e.g. a clean table before ``clean`` ran)."""


class InvariantError(RuntimeError):
    """An invariant of the code broke (an unknown column type, a count that does not add up): a
    bug, never bad input.

    Raised instead of ``assert`` so the check also runs under ``python -O``."""


class AccountingError(InvariantError):
    """Records went missing between the input and the outputs (rows in != clean + rejected)."""


def check_rows(rows_in: int, clean: int, rejected: int, where: str) -> None:
    """Raise :class:`AccountingError` unless every record is clean or rejected."""
    if rows_in != clean + rejected:
        raise AccountingError(f"{where}: rows in {rows_in:,} != clean {clean:,} + rejected {rejected:,}")
