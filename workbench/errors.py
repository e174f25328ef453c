"""Exception classes with messages a user can act on."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error workbench raises on purpose."""


class DataError(WorkbenchError, ValueError):
    """Market data broke a rule; names the file, line, column and rule where known.

    ``line`` is the 1-based physical line in a CSV file (the header is line 1); ``row`` the
    1-based row in a Parquet file or DataFrame; both ``None`` when the error concerns the
    whole input (missing columns, an empty file).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        row: int | None = None,
        column: str | None = None,
        rule: str | None = None,
        report: object | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.row = row
        self.column = column
        self.rule = rule
        self.report = report
        self.message = message  # without where and the rule
        where = []
        if file is not None:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        text = f"{prefix}: {message}" if prefix else message
        if rule is not None:
            text += f" [rule {rule}]"
        super().__init__(text)


class ConfigError(WorkbenchError, ValueError):
    """A configuration value or parameter is unknown, of the wrong type or out of range."""


class StrategyError(WorkbenchError):
    """A strategy's own code raised while the engine ran it: what, where in the strategy's
    file, and at which event time (``--debug`` shows the traceback)."""
