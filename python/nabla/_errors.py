"""nabla's exceptions and diagnostics (re-exported by the package: ``nabla.Error``, ...).

Every error of the C++ side arrives as one of these: the extension maps nabla::Error's kind
(and the driver's and the fit runtime's errors) to a class, so that nothing C++ throws reaches
the interpreter as anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional


@dataclass(frozen=True)
class Diagnostic:
    """One message of the compiler: where it is and what it says.

    ``line`` and ``column`` are 1-based (0 when the message has no location); ``column`` counts
    bytes. ``severity`` is ``"error"``, ``"warning"`` or ``"note"``; notes follow the message they
    belong to.
    """

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column}"
        return f"{where}: {self.severity}: {self.message}"


class Error(Exception):
    """Everything nabla raises. ``str(e)`` is the whole message (for bad text: the rendered
    diagnostics, ``file:line:col: error: message`` with the source line and a caret);
    ``e.diagnostics`` lists them as :class:`Diagnostic` values (empty when there are none)."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()):
        super().__init__(message)
        self.message = message
        self.diagnostics: List[Diagnostic] = list(diagnostics)

    def __str__(self) -> str:
        return self.message


class CompileError(Error, SyntaxError):
    """The text has errors (syntax, names, shapes, a limit): ``e.diagnostics`` has each one with
    its file, line and column. Also a :class:`SyntaxError`."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()):
        Error.__init__(self, message, diagnostics)
        self.msg = message
        first: Optional[Diagnostic] = next(
            (d for d in self.diagnostics if d.severity == "error"), None)
        # SyntaxError's own fields, for tools that read them (not shown by tracebacks, which would
        # repeat the source line that the message already shows).
        self.filename = first.file if first else None


class IoError(Error, OSError):
    """A file that cannot be read or written. Also an :class:`OSError`; ``e.filename`` is the
    path when it is known."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = ()):
        Error.__init__(self, message, diagnostics)
        self.filename = self.diagnostics[0].file if self.diagnostics else None


class NotFoundError(Error, KeyError):
    """No function, objective, param or input of that name. Also a :class:`KeyError` (and so a
    :class:`LookupError`)."""


class ArgumentError(Error, ValueError, TypeError):
    """A call with the wrong number of values, an array of the wrong shape, an unknown option or
    a bad option value. Also a :class:`ValueError` and a :class:`TypeError`."""


class UnavailableError(Error):
    """Something the compiled module does not have: the Hessian of a module compiled with
    ``hessian=False``, or derivative text too large to print."""


class DataError(Error, ValueError):
    """Data that does not fit the model: a CSV file's malformed cell, a missing column, arrays of
    different lengths. Also a :class:`ValueError`."""


class FitError(Error):
    """A training run that cannot go on: a loss or gradient that is not finite (the message names
    the step, the row and the first non-finite node), a checkpoint that does not fit."""


class InternalError(Error):
    """A bug in nabla or a failure inside LLVM; please report it with the input that caused it."""
