"""Options: contracts and their OCC symbols, prices, greeks and implied volatility.

See ``docs/options.md``. Chains, option orders, expiry and assignment, and the option
strategies come next (issue 18)."""

from workbench.options.contracts import OptionContract, OptionError, parse_occ
from workbench.options.pricing import Greeks, bounds, implied_volatility, price_chain, price_option

__all__ = ["Greeks", "OptionContract", "OptionError", "bounds", "implied_volatility", "parse_occ", "price_chain",
           "price_option"]
