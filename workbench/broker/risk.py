"""Pre-trade risk limits: configuration, never constants in code.

Each limit is off when ``None``. Checked in this order before an order works; the first
broken limit rejects it:

==================== ============================================================
limit                rejects an order when
==================== ============================================================
allowed_symbols      its symbol is not in the list
max_open_orders      the account already has this many working orders
max_order_quantity   its quantity (units) is above the limit
max_order_notional   quantity x reference price (currency) is above the limit
max_position         the position could pass +/- this many units if every working
                     order on the same side filled too
price_collar         its limit price is more than this fraction away from the last
                     price (0.05 = 5 %)
==================== ============================================================
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from workbench.errors import ConfigError


@dataclass(frozen=True)
class RiskLimits:
    """Pre-trade limits (units, currency, fractions); ``None`` switches one off."""

    max_order_quantity: float | None = None
    max_order_notional: float | None = None
    max_position: float | None = None
    price_collar: float | None = None
    allowed_symbols: tuple[str, ...] | None = None
    max_open_orders: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "allowed_symbols":
                if isinstance(value, str) or not all(isinstance(s, str) and s for s in value):
                    raise ConfigError("risk.allowed_symbols must be a list of symbol strings")
                object.__setattr__(self, f.name, tuple(value))
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"risk.{f.name} must be a finite number > 0 or null, got {value!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RiskLimits:
        """From configuration; an unknown key is an error that names it."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"risk: unknown limit(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["allowed_symbols"] is not None:
            d["allowed_symbols"] = list(d["allowed_symbols"])
        return d
