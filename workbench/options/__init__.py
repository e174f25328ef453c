"""Options: contracts and their OCC symbols, prices, greeks and implied volatility, chains
(loaded with validation, or synthetic from any bars).

See ``docs/options.md``. Option orders through the broker, expiry and assignment, and the
option strategies come next (issue 18)."""

from workbench.options.chains import VolSurface, load_chain, synthetic_chains
from workbench.options.contracts import OptionContract, OptionError, parse_occ
from workbench.options.pricing import Greeks, bounds, implied_volatility, price_chain, price_option

__all__ = ["Greeks", "OptionContract", "OptionError", "VolSurface", "bounds", "implied_volatility", "load_chain",
           "parse_occ", "price_chain", "price_option", "synthetic_chains"]
