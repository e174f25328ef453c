"""Plain JSON from what the package computes: one conversion for reports, summaries and stores.

JSON has no NaN, infinity, numpy scalar or timestamp. :func:`jsonable` turns a figure that
is undefined (NaN, infinite) into ``null``, numpy scalars into Python numbers, times into
ISO 8601 text and tuples into lists; :func:`json_default` is the same leaf conversion for
``json.dumps(..., default=json_default)`` where NaN should stay NaN (a store read back by
Python).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def python_value(x: Any) -> Any:
    """A numpy scalar as the Python number it holds; anything else as it is."""
    return x.item() if hasattr(x, "item") and getattr(x, "ndim", 0) == 0 else x


def json_default(x: Any) -> Any:
    """A value ``json`` cannot write, as one it can: numpy scalars unwrapped, times as ISO
    text, anything else as its ``str``."""
    if hasattr(x, "item") and not isinstance(x, (list, dict, str)):
        try:
            return x.item()
        except (TypeError, ValueError):
            return str(x)
    if isinstance(x, (dt.datetime, dt.date)):
        return x.isoformat()
    return str(x)


def jsonable(x: Any) -> Any:
    """Plain JSON data: NaN and infinity as ``None``, numpy scalars unwrapped, times as ISO
    text, tuples as lists, mappings with text keys."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if hasattr(x, "tolist") and getattr(x, "ndim", 0):  # an array
        return jsonable(x.tolist())
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if not isinstance(x, float):
        x = json_default(x)
        if not isinstance(x, float):
            return x
    return float(x) if math.isfinite(x) else None  # a numpy float64 is a float too: unwrap it
