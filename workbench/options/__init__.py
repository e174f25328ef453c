"""Options: contracts and their OCC symbols, prices, greeks and implied volatility, chains
(loaded with validation, or synthetic from any bars).

See ``docs/options.md``. A chain reaches the engine and the broker as quotes on OCC symbols
(:func:`chain_quotes`, :func:`option_instruments`); the broker's option rules (cover, expiry,
assignment) are in :mod:`workbench.broker.broker`; the option strategies in
:mod:`workbench.strategies.options`; the dashboard page in :func:`workbench.apps.options_page`."""

from workbench.options.chains import (
    VolSurface,
    chain_quotes,
    contract_symbols,
    load_chain,
    option_instruments,
    synthetic_chains,
)
from workbench.options.contracts import OptionContract, OptionError, parse_occ
from workbench.options.greeks import position_greeks
from workbench.options.pricing import Greeks, bounds, implied_volatility, price_chain, price_option

__all__ = ["Greeks", "OptionContract", "OptionError", "VolSurface", "bounds", "chain_quotes", "contract_symbols",
           "implied_volatility", "load_chain", "option_instruments", "parse_occ", "position_greeks", "price_chain",
           "price_option", "synthetic_chains"]
