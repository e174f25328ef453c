"""What a run's summary shows beside its figures: the buy-and-hold of its universe, the
broker's refusals by reason, and the option figures (``workbench backtest`` and ``paper``)."""

from __future__ import annotations

from workbench.options.attribution import option_summary


def benchmark_rows(result) -> list[tuple[str, str]]:
    """The buy-and-hold of the run's universe beside it (:meth:`Result.benchmark`)."""
    b = result.benchmark()
    if b is None:
        return []
    pct = lambda x: "n/a" if x is None else f"{x:+.2%}"  # noqa: E731
    num = lambda x, f: "n/a" if x is None else format(x, f)  # noqa: E731
    p = result.portfolio() or {}
    rows = []
    if p.get("turnover") is not None:
        rows.append(("portfolio", f"turnover {p['turnover']:.2f} a year (one-way), cash {p['cash_share']:.1%} of the "
                                  "equity on average"))
    return rows + [
        ("buy and hold", f"{pct(b['total_return'])} total, CAGR {pct(b['cagr'])}, Sharpe {num(b['sharpe'], '.3f')}, "
                         f"max drawdown {pct(b['max_drawdown'])} ({', '.join(b['symbols'])}, equal weight)"),
        ("vs buy and hold", f"alpha {pct(b['alpha'])} a year, beta {num(b['beta'], '.3f')}, information ratio "
                            f"{num(b['information_ratio'], '.3f')}"),
    ]


def rejections(result) -> dict[str, int]:
    """The broker's refusals by reason (none: empty)."""
    return result.rejections()


def rejected_text(result) -> str:
    """``; 5,031 rejected (UNCOVERED_OPTION 5,031)``: the broker's refusals by reason, or ``""``."""
    reasons = rejections(result)
    if not reasons:
        return ""
    total = result.broker.stats(latency=False)["orders_rejected"]
    detail = ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
    return f"; {total:,} rejected" + (f" ({detail})" if detail else "")


def option_figures(result) -> list[tuple[str, str]]:
    """:func:`option_summary` as the summary table's rows (none without options)."""
    o = option_summary(result)
    if not o:
        return []
    parts = ", ".join(f"{k} {o['pnl_parts'][k]:,.0f}" for k in ("delta", "gamma", "theta", "vega", "residual"))
    share = "" if o["residual_share"] is None else f" ({o['residual_share']:.1%} of the daily P&L unexplained)"
    return [
        ("P&L parts", parts + share),
        ("options sold", f"{_count(o['contracts_sold'], 'contract')} in {_count(o['sales'], 'sale')}; "
                         f"{_count(o['contracts_bought'], 'contract')} bought back or bought"),
        ("premium", f"{o['premium']:,.2f} collected (sales less purchases)"),
        ("at expiry", f"positions: {o['assigned']:,} assigned, {o['exercised']:,} exercised, "
                      f"{o['cash_settled']:,} cash-settled, {o['expired']:,} worthless"
                      + (f"; {_count(o['contracts_open'], 'contract')} still open at the end"
                         if o["contracts_open"] else "")),
    ]


def _count(n: float, word: str) -> str:
    return f"{n:,.0f} {word}{'' if n == 1 else 's'}"
