"""Times and durations written as text, read the same way everywhere: command-line flags
(``--start``, ``--duration``, ``--since``), alert rules (``window``, ``for``,
``keep_firing_for``), replay bounds and notebook parameters.

Durations: one parser, on :class:`pandas.Timedelta`: ``250ms``, ``30s``, ``5m`` (minutes),
``2h``, ``1d``, ``1w``, ``1h30m``, ``1.5h``, ``10 min``; a bare number is seconds (``90``).
Months and years are refused (their length is not fixed). Times: :func:`utc_time`, on
:class:`pandas.Timestamp`; a time without a zone is UTC.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import pandas as pd

from workbench.errors import ConfigError

_NUMBER = re.compile(r"^\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*$")
# pandas wants D and W in capitals (lower case is deprecated), and knows no "weeks".
_DAYS_WEEKS = re.compile(r"(?<=[\d\s.])(days?|d|weeks?|w)(?![a-z])")
EXAMPLES = "like 90 (seconds), 250ms, 30s, 5m, 2h, 1d or 1h30m"


def utc_time(value: Any, where: str) -> pd.Timestamp:
    """``value`` (text like ``2024-01-02`` or ``2024-01-02T14:30:00-05:00``, a datetime or
    Timestamp) as a UTC Timestamp; no zone means UTC. ``where`` names it in the error."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise ConfigError(f"{where}: not a date or time: {value!r}") from None
    if ts is pd.NaT:
        raise ConfigError(f"{where}: not a date or time: {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def seconds(text: Any, where: str, *, positive: bool = False) -> float:
    """``text`` as seconds (a float). ``where`` names the flag or field in the error;
    ``positive``: zero is refused too (a negative duration always is)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    elif isinstance(text, str) and _NUMBER.match(text):
        value = float(text)
    elif isinstance(text, str) and text.strip() and "," not in text:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = pd.Timedelta(_DAYS_WEEKS.sub(lambda m: m.group(1)[0].upper(), text.strip())).total_seconds()
        except (ValueError, OverflowError):
            raise ConfigError(f"{where}: not a duration {EXAMPLES}: {text!r}") from None
    else:
        raise ConfigError(f"{where}: not a duration {EXAMPLES}: {text!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{where}: not a duration {EXAMPLES}: {text!r}")
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{where}: must be {'> 0' if positive else '>= 0'} seconds, got {text!r}")
    return value
