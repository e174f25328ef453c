"""Every data rule, with hand-written bad files: the error names file, line, column, rule."""

from pathlib import Path

import pandas as pd
import pytest

from workbench.feed import DataError, RULES, load_file, validate_file

BAR_HEADER = "time,symbol,open,high,low,close,volume\n"
QUOTE_HEADER = "time,symbol,bid,ask,bid_size,ask_size\n"
GOOD_BARS = [
    "2024-01-02,X,10,11,9,10.5,100",
    "2024-01-03,X,10.5,11.5,10,11,200",
    "2024-01-04,X,11,12,10.5,11.5,300",
]


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def bars_with(bad_line: str, at: int = 1) -> str:
    """A bar file with ``bad_line`` inserted after ``at`` good rows (so at line at + 2)."""
    rows = GOOD_BARS[:at] + [bad_line] + GOOD_BARS[at:]
    return BAR_HEADER + "\n".join(rows) + "\n"


BAR_CASES = [
    # (bad row, rule, column)
    ("2024-01-05,X,,11,9,10.5,100", "missing_value", "open"),
    ("2024-01-05,,10,11,9,10.5,100", "missing_value", "symbol"),
    (",X,10,11,9,10.5,100", "missing_value", "time"),
    ("2024-13-45,X,10,11,9,10.5,100", "time_parse", "time"),
    ("yesterday,X,10,11,9,10.5,100", "time_parse", "time"),
    ("2024-01-05,X,ten,11,9,10.5,100", "number_parse", "open"),
    ("2024-01-05,X,10,11,9,10.5,lots", "number_parse", "volume"),
    ("2024-01-05,X,10,11,9,nan,100", "price_finite", "close"),
    ("2024-01-05,X,10,inf,9,10.5,100", "price_finite", "high"),
    ("2024-01-05,X,10,11,0,10.5,100", "price_positive", "low"),
    ("2024-01-05,X,-10,11,-12,10.5,100", "price_positive", "open"),
    ("2024-01-05,X,10,11,9,10.5,-1", "volume_nonneg", "volume"),
    ("2024-01-05,X,10,11,9,10.5,inf", "volume_nonneg", "volume"),
    ("2024-01-05,X,10,10.4,9,10.5,100", "high_ge_open_close", "high"),
    ("2024-01-05,X,10,11,10.2,10.5,100", "low_le_open_close", "low"),
]


@pytest.mark.parametrize("row, rule, column", BAR_CASES, ids=[c[1] + "-" + c[2] for c in BAR_CASES])
def test_bar_rule_names_line_column_rule(tmp_path, row, rule, column):
    path = write(tmp_path, bars_with(row, at=1))
    with pytest.raises(DataError) as info:
        load_file(path)
    err = info.value
    assert (err.file, err.line, err.column, err.rule) == (str(path), 3, column, rule)
    assert "line 3" in str(err) and rule in str(err) and str(path) in str(err)
    assert RULES[rule] in str(err)


def test_order_rules_for_bars(tmp_path):
    # Line 4 repeats line 3's time; line 5 goes back in time.
    text = BAR_HEADER + "\n".join(
        [GOOD_BARS[0], GOOD_BARS[1], GOOD_BARS[1], "2024-01-01,X,10,11,9,10.5,1", GOOD_BARS[2]]
    )
    path = write(tmp_path, text + "\n")
    with pytest.raises(DataError) as info:
        load_file(path)
    assert (info.value.line, info.value.rule) == (4, "duplicate_time")
    report = validate_file(path)
    assert report.counts() == {"duplicate_time": 1, "time_order": 1}
    lines = {v.rule: v.first_lines for v in report.violations}
    assert lines == {"duplicate_time": [4], "time_order": [5]}


def test_order_is_per_symbol(tmp_path):
    # Interleaved symbols: each symbol's own times increase, so this is fine...
    ok = BAR_HEADER + (
        "2024-01-02,A,10,11,9,10,1\n2024-01-02,B,10,11,9,10,1\n"
        "2024-01-03,A,10,11,9,10,1\n2024-01-03,B,10,11,9,10,1\n"
    )
    assert validate_file(write(tmp_path, ok)).ok
    # ...and a symbol grouped after another may start earlier than the other ended.
    grouped = BAR_HEADER + (
        "2024-01-02,A,10,11,9,10,1\n2024-01-03,A,10,11,9,10,1\n"
        "2024-01-02,B,10,11,9,10,1\n2024-01-03,B,10,11,9,10,1\n"
    )
    assert validate_file(write(tmp_path, grouped, "g.csv")).ok
    # But B repeating a time is a duplicate even when rows are globally sorted.
    dup = BAR_HEADER + (
        "2024-01-02,A,10,11,9,10,1\n2024-01-02,B,10,11,9,10,1\n2024-01-02,B,10,11,9,10,1\n"
    )
    report = validate_file(write(tmp_path, dup, "d.csv"))
    assert report.counts() == {"duplicate_time": 1} and report.violations[0].first_lines == [4]


def test_running_maximum_makes_drop_leave_an_ordered_frame(tmp_path):
    # One wild future time: rows after it that are earlier break time_order.
    rows = [
        "2024-01-02,X,10,11,9,10,1",
        "2024-03-01,X,10,11,9,10,1",
        "2024-01-04,X,10,11,9,10,1",
        "2024-01-05,X,10,11,9,10,1",
    ]
    loaded = load_file(write(tmp_path, BAR_HEADER + "\n".join(rows) + "\n"), on_error="drop")
    assert loaded.report.counts() == {"time_order": 2}
    assert loaded.frame.index.is_monotonic_increasing


QUOTE_CASES = [
    ("2024-01-02T14:30:01Z,X,10.05,10.04,100,100", "bid_le_ask", "bid"),
    ("2024-01-02T14:30:01Z,X,10.00,10.04,-100,100", "size_nonneg", "bid_size"),
    ("2024-01-02T14:30:01Z,X,10.00,10.04,100,nan", "size_nonneg", "ask_size"),
    ("2024-01-02T14:30:01Z,X,0,10.04,100,100", "price_positive", "bid"),
    ("2024-01-02T14:30:01Z,X,10,NaN,100,100", "price_finite", "ask"),
    ("2024-01-02T14:29:59Z,X,10.00,10.04,100,100", "time_order", "time"),
]


@pytest.mark.parametrize("row, rule, column", QUOTE_CASES, ids=[c[1] for c in QUOTE_CASES])
def test_quote_rules(tmp_path, row, rule, column):
    text = QUOTE_HEADER + "2024-01-02T14:30:00Z,X,10.00,10.02,100,200\n" + row + "\n"
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        load_file(path)
    assert (info.value.line, info.value.column, info.value.rule) == (3, column, rule)


def test_quotes_may_share_a_timestamp(tmp_path):
    text = QUOTE_HEADER + (
        "2024-01-02T14:30:00Z,X,10.00,10.02,100,200\n2024-01-02T14:30:00Z,X,10.01,10.03,100,200\n"
    )
    assert validate_file(write(tmp_path, text)).ok


@pytest.mark.parametrize(
    "text, words, rule",
    [
        ("", "file is empty", "empty"),
        (BAR_HEADER, "no data rows", "empty"),
        ("time,symbol,open,high,close,volume\n2024-01-02,X,1,1,1,1\n", "missing column(s) 'low'", "columns"),
        ("time,symbol,open,high,low,close,volume,colour\n2024-01-02,X,1,1,1,1,1,red\n", "unexpected column(s) 'colour'", "columns"),
        ("time,symbol,price\n2024-01-02,X,1\n", "cannot tell bars from quotes", "columns"),
        ("symbol,open,high,low,close,volume\nX,1,1,1,1,1\n", "missing column 'time'", "columns"),
        ("time,date,symbol,open,high,low,close,volume\n", "more than one time column", "columns"),
        (BAR_HEADER + "2024-01-02,X,10,11,9,10.5,100,999\n", "malformed CSV", "format"),
    ],
)
def test_whole_file_problems(tmp_path, text, words, rule):
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=words.replace("(", r"\(").replace(")", r"\)")) as info:
        load_file(path)
    assert info.value.rule == rule and info.value.file == str(path)


def test_malformed_line_is_located(tmp_path):
    path = write(tmp_path, bars_with("2024-01-05,X,10,11,9,10.5,100,extra", at=2))
    with pytest.raises(DataError) as info:
        load_file(path)
    assert info.value.line == 4 and info.value.rule == "format"


def test_wrong_suffix_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="unsupported file type"):
        load_file(write(tmp_path, BAR_HEADER, "data.json"))
    with pytest.raises(DataError, match="no such file"):
        load_file(tmp_path / "absent.csv")


def test_epoch_numbers_are_not_guessed(tmp_path):
    path = write(tmp_path, BAR_HEADER + "1704153600,X,10,11,9,10.5,100\n")
    with pytest.raises(DataError) as info:
        load_file(path)
    assert info.value.rule == "time_parse"


def test_blank_lines_are_skipped_but_counted(tmp_path):
    text = BAR_HEADER + GOOD_BARS[0] + "\n\n\n" + "2024-01-03,X,10,9,9,10.5,1\n"
    with pytest.raises(DataError) as info:
        load_file(write(tmp_path, text))
    assert info.value.line == 5


def test_drop_reports_every_rule_and_keeps_only_good_rows(tmp_path):
    rows = [GOOD_BARS[0]] + [r for r, _, _ in BAR_CASES[:3]] + GOOD_BARS[1:]
    loaded = load_file(write(tmp_path, BAR_HEADER + "\n".join(rows) + "\n"), on_error="drop")
    report = loaded.report
    assert not report.ok and report.rows == 6 and report.bad_rows == 3
    assert report.counts() == {"missing_value": 3}
    assert len(loaded.frame) == 3
    assert loaded.frame.index.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-01-03", "2024-01-04"]
    text = str(report)
    assert "3 bad row(s)" in text and "missing_value" in text


def test_a_bad_file_loads_nothing_and_caches_nothing(tmp_path):
    cache = tmp_path / "cache"
    path = write(tmp_path, bars_with(BAR_CASES[-1][0]))
    with pytest.raises(DataError):
        load_file(path, cache_dir=cache)
    assert not cache.exists() or not any(cache.iterdir())


def test_parquet_rows_are_numbered_from_one(tmp_path):
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"], utc=True),
            "symbol": "X",
            "open": [10.0, 10.0, 10.0],
            "high": [11.0, 11.0, 9.5],
            "low": [9.0, 9.0, 9.0],
            "close": [10.5, 10.5, 10.5],
            "volume": [1.0, 1.0, 1.0],
        }
    )
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(DataError) as info:
        load_file(path)
    assert info.value.row == 3 and info.value.line is None and "row 3" in str(info.value)
