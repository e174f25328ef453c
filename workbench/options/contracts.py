"""Option contracts: a value object and its OCC symbol.

An OCC (Options Clearing Corporation) symbol is 21 characters: the root symbol padded with
spaces to 6, the expiry as ``YYMMDD``, ``C`` or ``P``, and the strike times 1,000 as 8
digits: ``SPY   261218P00450000`` is the SPY put of 450.00 expiring 2026-12-18. The format
holds strikes from 0.001 to 99,999.999; its two-digit year is read with a pivot, 70-99 as
1970-1999 and 00-69 as 2000-2069 (:data:`YEARS`), so historical data from 1970 has symbols
(the bundled S&P 500 starts in 1999).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from workbench.errors import WorkbenchError
from workbench.model import OCC_SYMBOL

RIGHTS = ("call", "put")
YEARS = (1970, 2069)  # the expiry years an OCC symbol's two digits stand for (pivot at 70)
STYLES = ("european", "american")


class OptionError(WorkbenchError, ValueError):
    """An option's terms or a price broke a rule; the message names which and why."""


@dataclass(frozen=True, slots=True)
class OptionContract:
    """One listed option: ``multiplier`` units of ``underlying`` per contract at ``strike``
    (per unit), exercisable at ``expiry`` (a date; ``american``: any day until then)."""

    underlying: str
    expiry: dt.date
    strike: float
    right: str  # "call" or "put"
    style: str = "american"  # US equity options are American
    multiplier: float = 100.0

    def __post_init__(self) -> None:
        if not isinstance(self.underlying, str) or not re.fullmatch(r"[A-Z0-9.]{1,6}", self.underlying):
            raise OptionError(f"underlying must be 1-6 capital letters, digits or dots, got {self.underlying!r}")
        if isinstance(self.expiry, dt.datetime) or not isinstance(self.expiry, dt.date):
            raise OptionError(f"expiry must be a date, got {self.expiry!r}")
        if not isinstance(self.strike, (int, float)) or isinstance(self.strike, bool) or not self.strike > 0:
            raise OptionError(f"strike must be a positive number, got {self.strike!r}")
        object.__setattr__(self, "strike", float(self.strike))
        if self.right not in RIGHTS:
            raise OptionError(f"right must be 'call' or 'put', got {self.right!r}")
        if self.style not in STYLES:
            raise OptionError(f"style must be 'european' or 'american', got {self.style!r}")
        if not isinstance(self.multiplier, (int, float)) or isinstance(self.multiplier, bool) or not self.multiplier > 0:
            raise OptionError(f"multiplier must be a positive number, got {self.multiplier!r}")
        object.__setattr__(self, "multiplier", float(self.multiplier))

    @property
    def symbol(self) -> str:
        """The OCC symbol (``SPY   261218P00450000``)."""
        thousandths = round(self.strike * 1000)
        if abs(thousandths - self.strike * 1000) > 1e-6 * max(1.0, self.strike) or not 0 < thousandths < 10**8:
            raise OptionError(f"strike {self.strike} has no OCC form (0.001 to 99,999.999 in steps of 0.001)")
        if not YEARS[0] <= self.expiry.year <= YEARS[1]:
            raise OptionError(f"expiry {self.expiry} has no OCC form (years {YEARS[0]} to {YEARS[1]})")
        return f"{self.underlying:<6}{self.expiry:%y%m%d}{self.right[0].upper()}{thousandths:08d}"

    def intrinsic(self, spot: float) -> float:
        """Value if exercised at ``spot``, per unit of the underlying."""
        return max(spot - self.strike, 0.0) if self.right == "call" else max(self.strike - spot, 0.0)

    def __str__(self) -> str:
        return self.symbol


def parse_occ(symbol: str, *, style: str = "american", multiplier: float = 100.0) -> OptionContract:
    """The contract an OCC symbol names; :class:`OptionError` says what is malformed."""
    if not isinstance(symbol, str):
        raise OptionError(f"an OCC symbol is a string, got {type(symbol).__name__}")
    m = OCC_SYMBOL.match(symbol.strip())
    if m is None or (len(symbol.rstrip()) != 21 and " " in symbol.strip()):
        raise OptionError(f"{symbol!r} is not an OCC symbol (root padded to 6, YYMMDD, C or P, strike x 1000 "
                          "in 8 digits: 'SPY   261218P00450000')")
    date = m["date"]
    try:
        yy = int(date[:2])
        expiry = dt.date((1900 if yy >= YEARS[0] % 100 else 2000) + yy, int(date[2:4]), int(date[4:]))
    except ValueError:
        raise OptionError(f"{symbol!r}: {date} is not a date (YYMMDD)") from None
    strike = int(m["strike"]) / 1000
    if strike <= 0:
        raise OptionError(f"{symbol!r}: the strike is zero")
    return OptionContract(m["root"], expiry, strike, "call" if m["right"] == "C" else "put", style, multiplier)
