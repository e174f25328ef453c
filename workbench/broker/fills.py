"""Fill rules: at what price, if any, an order fills against a bar or a quote.

Bars (an order accepted during bar t is eligible from bar t+1 on; nothing fills against
the bar it was decided on):

* market: the bar's open (slippage applies);
* limit buy: the open if open <= limit, else the limit if low <= limit; a sell mirrors it
  (open if open >= limit, else the limit if high >= limit);
* stop buy: triggers if high >= stop and fills at max(open, stop); a stop sell triggers if
  low <= stop and fills at min(open, stop) (slippage applies);
* stop-limit: triggers as a stop, then rests as a limit. On the trigger bar it fills at
  the trigger price, max(open, stop) for a buy, only if that is within the limit: a bar
  that opens beyond the limit does not fill it (whatever it did later in the bar is
  unknown). From the next bar on the limit rule applies.

Quotes (an order is matched against the current quote when it arrives and against every
later quote):

* buys take the ask and sells hit the bid, up to the displayed size;
* market: at the quote (slippage applies);
* limit: fills when the quote crosses it, at the quote (price improvement): a buy when
  ask <= limit, a sell when bid >= limit;
* stop: triggers when the ask reaches the stop (buy: ask >= stop; sell: bid <= stop), then
  fills as a market order; stop-limit triggers the same way, then fills as a limit.

Each function returns ``(price or None, triggered, slippage applies)``; quantities (volume
participation, displayed size, IOC/FOK) are the broker's business.
"""

from __future__ import annotations

from workbench.model import Bar, OrderType, Quote, Side

BUY = Side.BUY


def _limit_on_bar(side: Side, limit: float, bar: Bar) -> float | None:
    if side is BUY:
        if bar.open <= limit:
            return bar.open
        return limit if bar.low <= limit else None
    if bar.open >= limit:
        return bar.open
    return limit if bar.high >= limit else None


def bar_fill(
    side: Side,
    type: OrderType,
    limit: float | None,
    stop: float | None,
    triggered: bool,
    bar: Bar,
) -> tuple[float | None, bool, bool]:
    """The fill price of an eligible order against ``bar`` (see the module docstring)."""
    if type is OrderType.MARKET:
        return bar.open, triggered, True
    if type is OrderType.LIMIT:
        return _limit_on_bar(side, limit, bar), triggered, False
    if triggered:  # a stop that already triggered is a market or a limit order now
        if type is OrderType.STOP:
            return bar.open, True, True
        return _limit_on_bar(side, limit, bar), True, False
    if side is BUY:
        if bar.high < stop:
            return None, False, False
        trigger_price = max(bar.open, stop)
    else:
        if bar.low > stop:
            return None, False, False
        trigger_price = min(bar.open, stop)
    if type is OrderType.STOP:
        return trigger_price, True, True
    # Stop-limit on its trigger bar: only the trigger price is known to have traded.
    within = trigger_price <= limit if side is BUY else trigger_price >= limit
    return (trigger_price if within else None), True, False


def quote_fill(
    side: Side,
    type: OrderType,
    limit: float | None,
    stop: float | None,
    triggered: bool,
    quote: Quote,
) -> tuple[float | None, bool, bool]:
    """The fill price of an order against ``quote`` (see the module docstring)."""
    price = quote.ask if side is BUY else quote.bid
    if type in (OrderType.STOP, OrderType.STOP_LIMIT) and not triggered:
        reached = price >= stop if side is BUY else price <= stop
        if not reached:
            return None, False, False
        triggered = True
    if type in (OrderType.MARKET, OrderType.STOP):
        return price, triggered, True
    crosses = price <= limit if side is BUY else price >= limit
    return (price if crosses else None), triggered, False
