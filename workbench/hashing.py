"""Content hashes, one way for each kind of content: bytes, plain data, data frames, files.

Every hash in the package (fills and journal digests, broker state, cache and trial-store
keys, data fingerprints, provenance) is SHA-256 in hex, made by one of these functions, so
the same content always gives the same hash whichever component asks.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pandas as pd


def sha256_bytes(*parts: bytes | str) -> str:
    """SHA-256 of the parts one after the other (text as UTF-8)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()


def canonical_json(data: Any) -> str:
    """Compact JSON with sorted keys (values JSON cannot hold are written as text)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def sha256_json(data: Any) -> str:
    """SHA-256 of :func:`canonical_json` of ``data``: equal data, equal hash."""
    return sha256_bytes(canonical_json(data))


def sha256_frames(*frames: pd.DataFrame) -> str:
    """SHA-256 of data frames' values, index and column names (pandas' row hashes)."""
    h = hashlib.sha256()
    for frame in frames:
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        h.update(",".join(map(str, frame.columns)).encode())
    return h.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
