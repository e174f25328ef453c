"""A user's own file layouts: renamed columns, other delimiters and decimal marks, close-only
and wide files; each read as the same canonical bars, with errors that still name file, line,
column and rule."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from workbench.errors import ConfigError, DataError
from workbench.feed import load_file, validate_frame

THEIRS = {"dt": "time", "ticker": "symbol", "o": "open", "h": "high", "l": "low", "c": "close", "vol": "volume"}
EURO = "dt;ticker;o;h;l;c;vol\n2024-01-02;ABC;1,5;2,0;1,0;1,75;100\n2024-01-03;ABC;1,75;2,5;1,5;2,25;200\n"
PLAIN = "time,symbol,open,high,low,close,volume\n2024-01-02,ABC,1.5,2.0,1.0,1.75,100\n2024-01-03,ABC,1.75,2.5,1.5,2.25,200\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_semicolon_file_with_decimal_commas_and_its_own_names_reads_as_the_plain_file(tmp_path):
    euro = load_file(write(tmp_path, "euro.csv", EURO), columns=THEIRS, decimal=",", cache=False)
    plain = load_file(write(tmp_path, "plain.csv", PLAIN), cache=False)
    pd.testing.assert_frame_equal(euro.frame, plain.frame)
    assert euro.report.notes == ["delimiter ';' detected"] and plain.report.notes == []
    # said explicitly, nothing is detected
    told = load_file(tmp_path / "euro.csv", columns=THEIRS, decimal=",", sep=";", cache=False)
    pd.testing.assert_frame_equal(told.frame, plain.frame)
    assert told.report.notes == []


def test_a_decimal_comma_read_as_a_point_is_a_number_error_naming_the_line_and_column(tmp_path):
    with pytest.raises(DataError) as info:
        load_file(write(tmp_path, "euro.csv", EURO), columns=THEIRS, cache=False)
    assert (info.value.line, info.value.column, info.value.rule) == (2, "open", "number_parse")


@pytest.mark.parametrize("sep, name", [("\t", "tab"), ("|", "|")])
def test_tab_and_pipe_files_are_detected_or_named(tmp_path, sep, name):
    path = write(tmp_path, "x.csv", PLAIN.replace(",", sep))
    plain = load_file(write(tmp_path, "plain.csv", PLAIN), cache=False).frame
    pd.testing.assert_frame_equal(load_file(path, cache=False).frame, plain)
    pd.testing.assert_frame_equal(load_file(path, sep=name, cache=False).frame, plain)


def test_a_delimiter_two_ways_consistent_is_refused_asking_which(tmp_path):
    path = write(tmp_path, "x.csv", "time;a,close\n2024-01-02;A,1\n2024-01-03;A,2\n")
    with pytest.raises(DataError, match="cannot tell the delimiter: ',' and ';'") as info:
        load_file(path, cache=False)
    assert info.value.rule == "format"


def test_column_mapping_errors_name_the_column(tmp_path):
    path = write(tmp_path, "euro.csv", EURO)
    with pytest.raises(DataError, match=r"'date' is not a column of the file; its columns are \['dt'") as info:
        load_file(path, columns={"date": "time"}, cache=False)
    assert info.value.column == "date"
    with pytest.raises(ConfigError, match="'price' is not a column workbench reads"):
        load_file(path, columns={"c": "price"}, cache=False)
    with pytest.raises(ConfigError, match="mapped to 'close'"):
        load_file(path, columns={"c": "close", "o": "Close"}, cache=False)
    with pytest.raises(ConfigError, match="cannot also be the delimiter"):
        load_file(path, sep=",", decimal=",", cache=False)
    # the mapping is matched case-insensitively when not exact
    loaded = load_file(path, columns={k.upper(): v for k, v in THEIRS.items()}, decimal=",", cache=False)
    assert list(loaded.frame.columns) == ["symbol", "open", "high", "low", "close", "volume"]


def test_a_close_only_file_is_bars_with_open_high_low_at_the_close_and_says_so(tmp_path):
    path = write(tmp_path, "spy.csv", "Date,Close\n2024-01-02,10\n2024-01-03,11.5\n\n2024-01-05,12\n")
    loaded = load_file(path, cache=False)
    f = loaded.frame
    assert list(f["symbol"].astype(str)) == ["SPY"] * 3
    for col in ("open", "high", "low"):
        assert f[col].tolist() == [10.0, 11.5, 12.0]
    assert f["volume"].tolist() == [0.0, 0.0, 0.0]
    assert loaded.report.notes == ["close-only prices: open, high and low set to the close, volume to 0"]
    bad = write(tmp_path, "bad.csv", "Date,Close\n2024-01-02,10\n2024-01-03,x\n")
    with pytest.raises(DataError) as info:
        load_file(bad, cache=False)
    assert (info.value.line, info.value.column, info.value.rule) == (3, "close", "number_parse")
    with pytest.raises(DataError, match="missing column"):  # some of open/high/low is not close-only
        load_file(write(tmp_path, "half.csv", "time,open,close\n2024-01-02,1,2\n"), cache=False)


def test_a_wide_file_is_long_close_only_bars_symbol_by_symbol(tmp_path):
    path = write(tmp_path, "w.csv", "date,SPY,qqq\n2024-01-02,470.1,400.2\n2024-01-03,,401.5\n2024-01-04,472.0,402\n")
    loaded = load_file(path, wide=True, cache=False)
    f = loaded.frame
    assert [(t.day, str(s), c) for t, s, c in zip(f.index, f["symbol"], f["close"])] == [
        (2, "SPY", 470.1), (2, "qqq", 400.2), (3, "qqq", 401.5), (4, "SPY", 472.0), (4, "qqq", 402.0)]
    assert (f["open"] == f["close"]).all()
    assert "wide file: 1 empty cell(s) skipped (no bar for that symbol then)" in loaded.report.notes
    bad = write(tmp_path, "b.csv", "date,SPY,QQQ\n2024-01-02,470.1,400.2\n2024-01-03,1,2\n2024-01-04,472.0,abc\n")
    with pytest.raises(DataError) as info:
        load_file(bad, wide=True, cache=False)
    assert (info.value.line, info.value.column) == (4, "QQQ")  # the physical line and column of the bad cell
    assert "(QQQ=abc)" in str(info.value)
    dropped = load_file(bad, wide=True, cache=False, on_error="drop")
    assert dropped.report.violations[0].first_lines == [4] and len(dropped.frame) == 5
    with pytest.raises(DataError, match="one time column"):
        load_file(write(tmp_path, "n.csv", "SPY,QQQ\n1,2\n"), wide=True, cache=False)


def test_a_wide_frame_in_memory(tmp_path):
    frame = pd.DataFrame({"SPY": [1.0, 2.0], "QQQ": [3.0, np.nan]},
                         index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"], name="date"))
    f = validate_frame(frame, wide=True).frame
    assert list(zip(f["symbol"].astype(str), f["close"])) == [("SPY", 1.0), ("QQQ", 3.0), ("SPY", 2.0)]


def test_parquet_files_take_the_column_mapping(tmp_path):
    path = tmp_path / "p.parquet"
    pd.DataFrame({"dt": pd.to_datetime(["2024-01-02", "2024-01-03"]), "px": [1.0, 2.0]}).to_parquet(path)
    f = load_file(path, columns={"dt": "time", "px": "close"}, symbol="X").frame
    assert f["close"].tolist() == [1.0, 2.0] and (f["low"] == f["close"]).all()


def test_the_cache_tells_layouts_apart(tmp_path):
    path = write(tmp_path, "x.csv", "time;symbol;open;high;low;close;volume;adj\n"
                                    "2024-01-02;A;1,5;2,0;1,0;1,75;100;1,25\n")
    cache = tmp_path / "cache"
    first = load_file(path, columns={"adj": "adj_close"}, decimal=",", cache_dir=cache)
    swapped = load_file(path, columns={"close": "adj_close", "adj": "close"}, decimal=",", cache_dir=cache)
    assert not first.from_cache and not swapped.from_cache  # another layout is another entry
    assert first.frame["close"].iloc[0] == 1.75 and swapped.frame["close"].iloc[0] == 1.25
    again = load_file(path, columns={"adj": "adj_close"}, decimal=",", cache_dir=cache)
    assert again.from_cache and again.report.notes == ["delimiter ';' detected"]
    pd.testing.assert_frame_equal(again.frame, first.frame)


def test_the_command_line_backtests_a_users_semicolon_file(tmp_path):
    rows = ["dt;ticker;o;h;l;c;vol"] + [
        f"2024-{1 + i // 28:02d}-{1 + i % 28:02d};ABC;{100 + i},0;{101 + i},5;{99 + i},0;{100 + i},5;1000"
        for i in range(60)]
    path = write(tmp_path, "mine.csv", "\n".join(rows) + "\n")
    run = subprocess.run([sys.executable, "-m", "workbench", "backtest", "buy_and_hold", "--data", str(path),
                          "--columns", "dt=time,ticker=symbol,o=open,h=high,l=low,c=close,vol=volume",
                          "--decimal", ",", "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert '"orders": 1' in run.stdout or '"orders":1' in run.stdout.replace(" ", "")
    wrong = subprocess.run([sys.executable, "-m", "workbench", "backtest", "buy_and_hold", "--data", str(path),
                            "--columns", "dt=time,ticker=symbol,o=open,h=high,l=low,c=close,vol=volume"],
                           capture_output=True, text=True, timeout=300)
    assert wrong.returncode != 0 and "line 2, column 'open'" in wrong.stderr and "Traceback" not in wrong.stderr


def test_a_long_file_is_read_with_a_progress_bar_and_the_same_result(tmp_path, monkeypatch, capsys):
    from workbench.feed import files

    path = write(tmp_path, "plain.csv", PLAIN)
    quiet = load_file(path, cache=False)
    monkeypatch.setattr(files, "PROGRESS_BYTES", 1)  # this small file counts as long
    shown = load_file(path, cache=False, progress=True)
    pd.testing.assert_frame_equal(quiet.frame, shown.frame)
    assert "reading plain.csv" in capsys.readouterr().err
    bad = write(tmp_path, "bad.csv", PLAIN.replace("1.75,100", "x,100"))
    with pytest.raises(DataError) as info:
        load_file(bad, cache=False, progress=True)
    assert (info.value.line, info.value.column) == (2, "close")


def test_european_numbers_and_dates(tmp_path):
    eu = write(tmp_path, "eu.csv", "time;symbol;close;volume\n2024-01-02;A;4.750;1.500\n2024-01-03;A;4.760,5;2.000\n")
    f = load_file(eu, decimal=",", cache=False).frame
    assert f["close"].tolist() == [4750.0, 4760.5] and f["volume"].tolist() == [1500.0, 2000.0]  # dots group thousands
    dotted = write(tmp_path, "w.csv", "Datum;SPY\n02.01.2024;1,5\n03.01.2024;1,6\n15.01.2024;1,7\n")
    f = load_file(dotted, wide=True, decimal=",", columns={"Datum": "date"}, cache=False).frame
    assert [t.strftime("%Y-%m-%d") for t in f.index] == ["2024-01-02", "2024-01-03", "2024-01-15"]  # day first


def test_a_wide_file_needs_distinct_symbol_names(tmp_path):
    for header in ("time,SPY,SPY", "time,SPY,"):
        path = write(tmp_path, "d.csv", f"{header}\n2024-01-02,1,2\n")
        with pytest.raises(DataError, match="distinct names"):
            load_file(path, wide=True, cache=False)


def test_a_close_only_files_bad_price_is_the_closes(tmp_path):
    path = write(tmp_path, "n.csv", "time,close\n2024-01-02,5\n2024-01-03,-1\n")
    with pytest.raises(DataError) as info:
        load_file(path, cache=False)
    assert (info.value.line, info.value.column, info.value.rule) == (3, "close", "price_positive")


def test_one_bad_cell_of_a_decimal_comma_file_is_the_only_one_named(tmp_path):
    rows = ["dt;ticker;o;h;l;c;vol"] + [
        f"2024-01-{i + 1:02d};ABC;{'x101,46' if i == 5 else f'{100 + i},27'};{102 + i},5;{99 + i},0;{100 + i},5;1000"
        for i in range(1, 10)]
    path = write(tmp_path, "b.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataError) as info:
        load_file(path, columns=THEIRS, decimal=",", cache=False)
    assert (info.value.line, info.value.column) == (6, "open") and "more bad" not in str(info.value)
    dropped = load_file(path, columns=THEIRS, decimal=",", cache=False, on_error="drop")
    assert dropped.report.bad_rows == 1 and dropped.frame["open"].iloc[0] == 101.27


def test_wide_on_a_long_file_is_refused(tmp_path):
    path = write(tmp_path, "y.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,1,2,0.5,1.5,1.4,100\n")
    with pytest.raises(DataError, match="a long file"):
        load_file(path, wide=True, cache=False)


def test_tsv_files_ohlc_without_volume_and_a_decimal_comma_hint(tmp_path):
    tsv = write(tmp_path, "t.tsv", "time\topen\thigh\tlow\tclose\n2024-01-02\t1\t2\t0.5\t1.5\n")
    loaded = load_file(tsv, cache=False)
    assert loaded.frame["volume"].tolist() == [0.0] and "no volume column: volume set to 0" in loaded.report.notes
    comma = write(tmp_path, "c.csv", "time;close\n2024-01-02;1,5\n")
    with pytest.raises(DataError, match="a decimal comma"):
        load_file(comma, cache=False)


def test_the_command_line_reads_a_files_local_times_in_the_zone_tz_names(tmp_path, capsys):
    """New York times without an offset: with --tz America/New_York the backtest is the one of
    the same times written with their offsets; without, they are read as UTC, and the run says
    its bars fall outside the exchange's sessions and names --tz."""
    from workbench.cli import main

    times = pd.date_range("2024-01-02 09:30", periods=390, freq="1min").append(
        pd.date_range("2024-01-03 09:30", periods=390, freq="1min"))
    close = 100 + np.sin(np.arange(len(times)) / 9.0)
    frame = pd.DataFrame({"symbol": "SPY", "open": close, "high": close + 0.05, "low": close - 0.05, "close": close,
                          "volume": 1000.0})
    naive, aware = tmp_path / "local.csv", tmp_path / "offsets.csv"
    frame.assign(time=times.strftime("%Y-%m-%d %H:%M:%S")).to_csv(naive, index=False)
    frame.assign(time=times.tz_localize("America/New_York").strftime("%Y-%m-%dT%H:%M:%S%z")).to_csv(aware, index=False)

    def run(*args):
        assert main(["backtest", "sma_cross", "-p", "fast=3", "-p", "slow=8", "--json", *args]) == 0
        return json.loads(capsys.readouterr().out)

    local, offsets, as_utc = (run("--data", str(naive), "--tz", "America/New_York"), run("--data", str(aware)),
                              run("--data", str(naive)))
    assert local["orders"] > 10 and local["fills_sha256"] == offsets["fills_sha256"]
    assert not any("outside XNYS" in w for w in local.get("warnings", []))
    assert any("outside XNYS" in w and "--tz" in w for w in as_utc.get("warnings", []))


def test_a_wide_files_report_counts_its_lines_not_a_bar_per_symbol(tmp_path):
    # line 3's time is bad for both symbols, line 5 repeats line 4; line 6 has one bad cell of two
    path = write(tmp_path, "w.csv", "time,SPY,QQQ\n2024-01-02,1,2\nnot-a-time,3,4\n2024-01-04,5,6\n"
                 "2024-01-04,5,6\n2024-01-05,7,x\n")
    loaded = load_file(path, wide=True, cache=False, on_error="drop")
    report = loaded.report
    assert (report.rows, report.bad_rows) == (5, 3)  # the file's five lines, three of them bad
    assert {v.rule: (v.count, v.first_lines) for v in report.violations} == {
        "time_parse": (1, [3]), "duplicate_time": (1, [5]), "number_parse": (1, [6])}
    assert len(loaded.frame) == 5  # the good bars are all kept: line 6's SPY among them
    with pytest.raises(DataError, match="2 more bad row"):
        load_file(path, wide=True, cache=False)


@pytest.mark.parametrize("text, hint", [
    ("time,SPY,QQQ\n2024-01-02,1.5,2\n2024-01-03,x,3\n", "one column of prices per symbol (SPY, QQQ)? read it "
     "with wide=True, --wide"),
    ("dt,Ticker,o,c\n2024-01-02,SPY,1,2\n", "--columns dt=time,Ticker=symbol,o=open,c=close"),
    ("time,ticker,o,c\n2024-01-02,SPY,1,2\n", "--columns ticker=symbol,o=open,c=close"),  # text: not wide
    ("when,what\n2024-01-02,x\n", "--columns THEIRS=OURS"),
    ("date,o,h,l,c,v\n2024-01-02,1,2,0.5,1.5,100\n", "--columns o=open,h=high,l=low,c=close,v=volume"),  # not wide
    ("Datum;DAX;SMI\n02.01.2024;16000,5;11000,1\n", "(DAX, SMI)? read it with wide=True, --wide --columns Datum=time"),
    ("Date,Adj Close\n2024-01-02,1\n", "--columns 'Adj Close=close'"),
    # an index that DataFrame.to_csv wrote (a column without a name): left out
    (",Datum,SPY,QQQ\n0,2024-01-02,1,2\n", "(SPY, QQQ)? read it with wide=True, --wide --columns 'Datum=time,Unnamed: 0='"),
    (",Date,Open,High,Low,Close,Volume\n0,2024-01-02,1,2,0.5,1.5,10\n", "unexpected column(s) 'Unnamed: 0' (a column "
     "without a name: an index that DataFrame.to_csv wrote?)"),
    ("Date,SPY,SPY\n2024-01-02,1,2\n", "the file names SPY twice: give each column its own name"),  # not wide
    # a German site's download: its names, and its decimal commas, not one symbol per column
    ("Datum;Eröffnung;Hoch;Tief;Schluss;Volumen\n02.01.2024;4.750,5;4.760,0;4.740,2;4.755,1;1.000\n",
     "--columns 'Datum=time,Eröffnung=open,Hoch=high,Tief=low,Schluss=close,Volumen=volume'; and its numbers have "
     "decimal commas: --decimal ,"),
    ("Date,SPY,NEW\n" + "".join(f"2024-01-{d:02d},1,\n" for d in range(2, 28)) + "2024-01-28,1,2\n",
     "(SPY, NEW)? read it with wide=True, --wide"),  # a symbol that starts late
])
def test_columns_that_name_nothing_of_ours_get_a_hint_of_what_to_say(tmp_path, text, hint):
    with pytest.raises(DataError) as info:
        load_file(write(tmp_path, "f.csv", text), cache=False)
    assert hint in str(info.value) and info.value.rule == "columns"
    assert ("--wide" in str(info.value)) == ("--wide" in hint)


def test_more_bad_rows_than_the_first_say_where_to_see_them_and_how_to_load_the_rest(tmp_path):
    path = write(tmp_path, "b.csv", "time,symbol,close\n2024-01-02,X,1\n2024-01-03,X,x\n2024-01-04,X,-1\n")
    with pytest.raises(DataError) as info:
        load_file(path, cache=False)
    text = str(info.value)
    assert "1 more bad row(s); `workbench data validate` lists every bad row, --on-error drop" in text
    assert "see the report" not in text and info.value.report.bad_rows == 2
    frame = pd.DataFrame({"time": ["2024-01-02", "x"], "symbol": "X", "open": 1.0, "high": 1.0, "low": 1.0,
                          "close": 1.0, "volume": 0.0})
    with pytest.raises(DataError, match=r"validate_frame\(\.\.\., on_error='drop'\) lists every bad row"):
        validate_frame(frame)
    # a frame named after a file (read from it by the caller) is still a frame
    with pytest.raises(DataError, match=r"validate_frame\(\.\.\., on_error='drop'\) lists every bad row"):
        validate_frame(frame, source=str(path))


def test_a_frame_that_repeats_a_column_name_gets_the_hint_not_a_crash():
    frame = pd.DataFrame([[1.0, 2.0, "2024-01-02"]], columns=["x", "x", "when"])
    with pytest.raises(DataError, match="missing column 'time'.*names x twice: give each column its own name"):
        validate_frame(frame)


def test_slashed_dates_are_read_day_first_when_a_first_field_says_so_and_the_order_is_noted(tmp_path):
    uk = load_file(write(tmp_path, "uk.csv", "date,close\n02/01/2023,1\n13/01/2023,2\n"), cache=False)
    assert [str(t.date()) for t in uk.frame.index] == ["2023-01-02", "2023-01-13"]
    assert "dates read day first (DD/MM/YYYY): a first field is above 12" in uk.report.notes
    us = load_file(write(tmp_path, "us.csv", "date,close\n01/02/2023,1\n01/13/2023,2\n"), cache=False)
    assert [str(t.date()) for t in us.frame.index] == ["2023-01-02", "2023-01-13"]
    unsure = load_file(write(tmp_path, "a.csv", "date,close\n02/01/2023,1\n03/01/2023,2\n"), cache=False)
    assert [str(t.date()) for t in unsure.frame.index] == ["2023-02-01", "2023-03-01"]  # as pandas reads them
    assert any("no field above 12 tells the order" in n for n in unsure.report.notes)


def test_a_close_only_files_bad_price_is_counted_once(tmp_path):
    report = load_file(write(tmp_path, "c.csv", "time,close\n2024-01-02,1\n2024-01-03,-1\n2024-01-04,0\n"),
                       cache=False, on_error="drop").report
    assert [(v.rule, v.column, v.count, v.first_lines) for v in report.violations] == [
        ("price_positive", "close", 2, [3, 4])]
    assert report.counts() == {"price_positive": 2}
    # an empty close is the close's missing value, not also a missing volume (the file has none);
    # a blank line is still only skipped
    empty = load_file(write(tmp_path, "e.csv", "time,close\n2024-01-02,1\n2024-01-03,\n\n2024-01-04,2\n"),
                      cache=False, on_error="drop").report
    assert [(v.rule, v.column, v.first_lines) for v in empty.violations] == [("missing_value", "close", [3])]
    ohlc = load_file(write(tmp_path, "o.csv", "time,open,high,low,close\n2024-01-02,1,1,1,1\n2024-01-03,1,1,1,\n"),
                     cache=False, on_error="drop").report
    assert [(v.rule, v.column, v.first_lines) for v in ohlc.violations] == [("missing_value", "close", [3])]


def test_extra_columns_are_named_as_the_file_has_them_and_can_be_left_out(tmp_path):
    path = write(tmp_path, "c.csv", "Date,Ticker,Open,High,Low,Close,Volume,Currency\n2024-01-02,ABC,1,2,0.5,1.5,10,USD\n")
    with pytest.raises(DataError) as info:
        load_file(path, cache=False)
    assert "unexpected column(s) 'Ticker', 'Currency'" in str(info.value)
    assert "--columns Ticker= (columns={'Ticker': ''}); or say what it is: --columns Ticker=symbol" in str(info.value)
    f = load_file(path, cache=False, columns={"Ticker": "symbol", "Currency": ""}).frame
    assert list(f.columns) == ["symbol", "open", "high", "low", "close", "volume"] and f["symbol"].iloc[0] == "ABC"
    # a delimiter at the end of every line (a spreadsheet's export): its empty, unnamed column is left out
    trailing = load_file(write(tmp_path, "t.csv", "Date,Close,\n2024-01-02,1,\n2024-01-03,2,\n"), cache=False)
    assert len(trailing.frame) == 2 and any("empty column(s) without a name left out" in n
                                            for n in trailing.report.notes)


def test_a_wide_files_decimal_comma_gets_its_hint(tmp_path):
    with pytest.raises(DataError) as info:
        load_file(write(tmp_path, "w.csv", "date;SPY;QQQ\n2024-01-02;100,5;200,5\n"), wide=True, cache=False)
    assert info.value.column == "SPY" and "a decimal comma? read the file with decimal=','" in str(info.value)
    assert "every row is bad" in str(info.value) and "--on-error drop" not in str(info.value)


def test_slashed_dates_with_two_digit_years_offsets_or_both_orders_are_read_one_way(tmp_path):
    yy = load_file(write(tmp_path, "yy.csv", "date,close\n01/01/23,1\n02/01/23,2\n13/01/23,3\n31/01/23,4\n"),
                   cache=False)
    assert [str(t.date()) for t in yy.frame.index] == ["2023-01-01", "2023-01-02", "2023-01-13", "2023-01-31"]
    # rows with and without an offset: one order for the column, not one each
    mixed = load_file(write(tmp_path, "m.csv", "date,close\n01/02/2023 09:30+01:00,1\n13/02/2023,2\n"), cache=False)
    assert [str(t) for t in mixed.frame.index] == ["2023-02-01 08:30:00+00:00", "2023-02-13 00:00:00+00:00"]
    both = load_file(write(tmp_path, "b.csv", "date,close\n13/01/2023,1\n01/02/2023,2\n01/14/2023,4\n"),
                     cache=False, on_error="drop")
    assert [str(t.date()) for t in both.frame.index] == ["2023-01-13", "2023-02-01"]
    assert [(v.rule, v.first_lines) for v in both.report.violations] == [("time_parse", [4])]
    assert any(n.startswith("dates in both orders (13/01/2023 and 01/14/2023): read day first") for n in
               both.report.notes)


def test_a_close_only_files_extra_column_is_named_as_written_and_quoted_for_the_shell(tmp_path):
    with pytest.raises(DataError) as info:
        load_file(write(tmp_path, "n.csv", "Date,Close,My Notes\n2024-01-02,1,x\n"), cache=False)
    assert "unexpected column(s) 'My Notes'" in str(info.value) and "--columns 'My Notes='" in str(info.value)


def test_a_wide_file_with_one_bad_column_is_not_every_row_bad(tmp_path):
    path = write(tmp_path, "w.csv", "date,SPY,QQQ\n2024-01-02,x,1\n2024-01-03,y,2\n")
    with pytest.raises(DataError) as info:
        load_file(path, wide=True, cache=False)
    assert "every row is bad" not in str(info.value) and "--on-error drop" in str(info.value)
    assert list(load_file(path, wide=True, cache=False, on_error="drop").frame["symbol"]) == ["QQQ", "QQQ"]


def test_the_first_bad_rows_hint_and_a_wide_layout_are_fields_of_the_report_and_survive_the_cache(tmp_path):
    from workbench.feed.validate import QualityReport

    semi = write(tmp_path, "s.csv", "time;symbol;close\n2024-01-02;X;1,5\n2024-01-03;X;2,5\n")
    report = load_file(semi, cache=False, on_error="drop").report
    assert report.hint == "line 2: a decimal comma? read the file with decimal=',', --decimal ,"
    assert not report.wide and not any("decimal comma" in n for n in report.notes)
    wide = load_file(write(tmp_path, "w.csv", "date,SPY\n2024-01-02,1\n"), wide=True, cache=False).report
    assert wide.wide and wide.hint == ""
    assert QualityReport.from_dict(report.to_dict()).hint == report.hint
    cached = [load_file(semi, cache=True, cache_dir=tmp_path / "c", on_error="drop").report for _ in range(2)]
    assert cached[1].hint == report.hint


def test_a_file_that_is_not_utf8_epoch_times_and_mixed_columns_get_plain_words(tmp_path, capsys):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"time,symbol,close\n2024-01-02,A,1\n2024-01-03,M\xf6bel,2\n")
    with pytest.raises(DataError) as info:
        load_file(latin, cache=False)
    assert info.value.line == 3 and "not UTF-8 text" in str(info.value) and "codec" not in str(info.value)
    import bz2

    packed = tmp_path / "latin.csv.bz2"  # a compressed file's line, not its compressed bytes'
    packed.write_bytes(bz2.compress(latin.read_bytes()))
    with pytest.raises(DataError) as info:
        load_file(packed, cache=False)
    assert info.value.line == 3
    epoch = write(tmp_path, "epoch.csv", "time,symbol,close\n1709908200,A,1\n1709908260,A,2\n")
    with pytest.raises(DataError, match=r"a number, not a time: seconds or milliseconds since 1970\?"):
        load_file(epoch, cache=False)
    # a bad cell deep in a long column: pandas' mixed-types warning does not reach the user
    rows = "".join(f"2024-01-02T09:{i // 60 % 60:02d}:{i % 60:02d}Z,A{i // 3600},1.5\n" for i in range(300_000))
    mixed = write(tmp_path, "mixed.csv", "time,symbol,close\n" + rows + "2024-01-03,A,n/a\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = load_file(mixed, cache=False, on_error="drop").report
    assert report.counts() == {"number_parse": 1}


def test_a_file_written_newest_first_is_read_oldest_first_and_said(tmp_path):
    rows = [f"2024-01-{d:02d},SPY,{100 + d},{101 + d},{99 + d},{100.5 + d},1000" for d in range(2, 12)]
    plain = load_file(write(tmp_path, "up.csv", "Date,Symbol,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n"),
                      cache=False)
    rows[3] = rows[3].replace(",1000", ",-5")  # a bad row keeps its line (the file's 8th, from the top)
    down = write(tmp_path, "down.csv", "Date,Symbol,Open,High,Low,Close,Volume\n" + "\n".join(rows[::-1]) + "\n")
    loaded = load_file(down, cache=False, on_error="drop")
    assert "newest first: the lines read from the last to the first" in loaded.report.notes
    assert [(v.rule, v.first_lines) for v in loaded.report.violations] == [("volume_nonneg", [8])]
    pd.testing.assert_frame_equal(loaded.frame, plain.frame.drop(plain.frame.index[3]))
    # two rows, the second earlier: a time out of order, not a file written backwards
    with pytest.raises(DataError, match="time_order"):
        load_file(write(tmp_path, "two.csv", "Date,Close\n2024-01-03,1\n2024-01-02,2\n"), cache=False)


def test_decimal_comma_on_a_file_of_decimal_points_is_refused_not_read_a_hundred_times_too_large(tmp_path):
    dot = write(tmp_path, "dot.csv", "Date;Open;High;Low;Close;Volume\n\n2024-01-02;451.23;452.5;450.1;451.9;1000\n")
    with pytest.raises(ConfigError, match=r"written with a decimal point \(451.23, line 3\).*without --decimal"):
        load_file(dot, decimal=",", cache=False)  # (the line counts the blank one)
    # a column left out is not looked at
    told = write(tmp_path, "t.csv", "Datum;Zeit;Schluss\n02.01.2024;17.30;4.750\n")
    assert load_file(told, decimal=",", columns={"Datum": "time", "Zeit": "", "Schluss": "close"},
                     cache=False).frame["close"].tolist() == [4750.0]
    # a file delimited by commas holds no decimal commas
    with pytest.raises(ConfigError, match=r"the file's delimiter is ',' too"):
        load_file(write(tmp_path, "c.csv", "Date,Close\n2024-01-02,\"1,5\"\n"), decimal=",", cache=False)
    # a European file whose numbers group thousands with dots (and may have no comma in its first lines) reads
    eu = write(tmp_path, "eu.csv", "time;symbol;close;volume\n2024-01-02;A;4.750;1.500\n2024-01-03;A;4.760,5;2.000\n")
    assert load_file(eu, decimal=",", cache=False).frame["close"].tolist() == [4750.0, 4760.5]


def test_a_parquet_file_indexed_by_symbol_and_date_loads_and_its_levels_can_be_renamed(tmp_path):
    days = pd.date_range("2024-01-02", periods=3, freq="D", name="date")
    one = pd.DataFrame({"open": [1.0, 2.0, 3.0], "high": 4.0, "low": 0.5, "close": [1.5, 2.5, 3.5], "volume": 10.0},
                       index=days)
    both = pd.concat({"AAA": one, "BBB": one * 1.1}, names=["symbol", "date"])
    both.to_parquet(tmp_path / "multi.parquet")
    loaded = load_file(tmp_path / "multi.parquet")
    assert loaded.report.symbols == ["AAA", "BBB"] and len(loaded.frame) == 6
    both.rename_axis(["ticker", "day"]).to_parquet(tmp_path / "named.parquet")
    renamed = load_file(tmp_path / "named.parquet", columns={"ticker": "symbol", "day": "time"})
    pd.testing.assert_frame_equal(renamed.frame, loaded.frame)


YF = ("Price,Close,Close,High,High,Low,Low,Open,Open,Volume,Volume\nTicker,QQQ,SPY,QQQ,SPY,QQQ,SPY,QQQ,SPY,QQQ,SPY\n"
      "Date,,,,,,,,,,\n2024-01-02,400.5,470.5,402,472,399,469,401,471,1000,2000\n"
      "2024-01-03,401.5,471.5,403,473,400,470,{open},472,1100,2100\n2024-01-04,,472.5,,474,,471,,473,,2200\n")


def test_a_yfinance_download_reads_as_long_bars_ticker_by_ticker(tmp_path):
    """yf.download([...]).to_csv(): a line of fields, one of tickers, one naming the index."""
    loaded = load_file(write(tmp_path, "yf.csv", YF.format(open="402")), cache=False)
    long = ("time,symbol,open,high,low,close,volume\n2024-01-02,QQQ,401,402,399,400.5,1000\n"
            "2024-01-02,SPY,471,472,469,470.5,2000\n2024-01-03,QQQ,402,403,400,401.5,1100\n"
            "2024-01-03,SPY,472,473,470,471.5,2100\n2024-01-04,SPY,473,474,471,472.5,2200\n")
    pd.testing.assert_frame_equal(loaded.frame, load_file(write(tmp_path, "long.csv", long), cache=False).frame)
    assert "yfinance download: 2 ticker(s) (QQQ, SPY) read as bars" in loaded.report.notes
    # a bad cell is named by the file's line
    with pytest.raises(DataError) as info:
        load_file(write(tmp_path, "bad.csv", YF.format(open="x")), cache=False)
    assert (info.value.line, info.value.column, info.value.rule) == (5, "open", "number_parse")
    assert "(open=x, symbol=QQQ)" in str(info.value)  # (a line holds each ticker's bar: whose is said)
    one = "Price,Close,High,Low,Open,Volume\nTicker,SPY,SPY,SPY,SPY,SPY\nDate,,,,,\n2024-01-02,470.5,472,469,471,2000\n"
    assert load_file(write(tmp_path, "one.csv", one), cache=False).report.symbols == ["SPY"]


@pytest.mark.parametrize("cell, hint", [("$77.10", "a currency sign: write the numbers without it"),
                                        ("77.10 €", "a currency sign"),
                                        ('"4,113,124"', "commas grouping thousands: write the numbers without them"),
                                        ('"1,234"', r"commas grouping thousands \(write the numbers without them\), "
                                                    r"or a decimal comma")])
def test_a_number_with_a_currency_sign_or_thousands_commas_says_so(tmp_path, cell, hint):
    with pytest.raises(DataError, match=hint):
        load_file(write(tmp_path, "c.csv", f"time,symbol,close\n2024-01-02,A,{cell}\n"), cache=False)


def test_a_delimiter_given_wrongly_is_named_from_the_one_column_it_leaves(tmp_path):
    with pytest.raises(DataError, match=r"one column named 'Date\|Close': is the delimiter '\|'\? say sep='\|'"):
        load_file(write(tmp_path, "p.csv", "Date|Close\n2024-01-02|1\n"), sep=",", cache=False)


def test_a_newest_first_files_bad_rows_are_named_from_its_top(tmp_path):
    rows = [f"2024-01-{d:02d},SPY,{'x' if d % 4 == 0 else 100 + d}" for d in range(31, 1, -1)]  # newest first
    path = write(tmp_path, "nf.csv", "Date,Symbol,Close\n" + "\n".join(rows) + "\n")
    bad = [n for n, row in enumerate(rows, start=2) if ",x" in row]
    with pytest.raises(DataError) as info:
        load_file(path, cache=False)
    assert info.value.line == bad[0] and f"{len(bad) - 1} more bad row(s)" in str(info.value)
    report = load_file(path, cache=False, on_error="drop").report
    assert [v.first_lines for v in report.violations] == [bad[:5]]


def test_a_tab_delimiter_is_suggested_by_name(tmp_path):
    with pytest.raises(DataError, match=r"is the delimiter TAB\? say sep='\\t' \(--sep tab\)"):
        load_file(write(tmp_path, "t.csv", "Date\tClose\n2024-01-02\t1\n"), sep="|", cache=False)


def test_yfinance_downloads_grouped_by_ticker_and_what_such_a_file_cannot_hold(tmp_path):
    by_ticker = "Ticker,QQQ,SPY\nPrice,Close,Close\nDate,,\n2024-01-02,400.5,470.5\n2024-01-03,401.5,471.5\n"
    by_field = "Price,Close,Close\nTicker,QQQ,SPY\nDate,,\n2024-01-02,400.5,470.5\n2024-01-03,401.5,471.5\n"
    grouped = load_file(write(tmp_path, "t.csv", by_ticker), cache=False).frame
    pd.testing.assert_frame_equal(grouped, load_file(write(tmp_path, "f.csv", by_field), cache=False).frame)
    assert grouped["symbol"].tolist() == ["QQQ", "SPY"] * 2
    with pytest.raises(DataError, match="has Close of SPY twice"):
        load_file(write(tmp_path, "d.csv", by_field.replace("Ticker,QQQ,SPY", "Ticker,SPY,SPY")), cache=False)
    with pytest.raises(DataError, match="ticker line has an empty cell"):
        load_file(write(tmp_path, "e.csv", by_field.replace("Ticker,QQQ,SPY", "Ticker,,SPY")), cache=False)
    lacking = ("Price,Close,Close,Volume\nTicker,QQQ,SPY,QQQ\nDate,,,\n2024-01-02,400.5,470.5,10\n")
    notes = load_file(write(tmp_path, "l.csv", lacking), cache=False, on_error="drop").report.notes
    assert "yfinance download: SPY has no Volume" in notes


def test_yfinance_downloads_frame_reads_as_long_bars_and_other_leveled_columns_are_refused(tmp_path):
    """yf.download([...]) returns columns in two levels, Price and Ticker (and Parquet keeps them)."""
    days = pd.date_range("2024-01-02", periods=2, name="Date")
    levels = pd.MultiIndex.from_product([["Close", "High", "Low", "Open", "Volume"], ["QQQ", "SPY"]],
                                        names=["Price", "Ticker"])
    frame = pd.DataFrame([[1.0, 2, 9, 9, 0.5, 0.5, 1, 2, 10, 20], [1.5, 2.5, 9, 9, 0.5, 0.5, 1, 2, 11, 21]],
                         index=days, columns=levels)
    loaded = validate_frame(frame)
    assert loaded.frame["symbol"].tolist() == ["QQQ", "SPY"] * 2 and loaded.frame["close"].tolist() == [1, 2, 1.5, 2.5]
    frame.to_parquet(tmp_path / "yf.parquet")
    pd.testing.assert_frame_equal(load_file(tmp_path / "yf.parquet").frame, loaded.frame)
    with pytest.raises(DataError, match="columns in 2 levels"):
        validate_frame(pd.DataFrame([[1.0, 2.0]], columns=pd.MultiIndex.from_tuples([("a", "b"), ("c", "d")])))


def test_an_investing_com_download_is_told_which_of_its_columns_are_missing_ones(tmp_path):
    path = write(tmp_path, "i.csv", 'Date,Price,Open,High,Low,Vol.,Change %\n01/02/2024,1.5,1.4,1.6,1.3,1.2M,0.5%\n')
    with pytest.raises(DataError, match=r"missing column\(s\) 'close', 'volume'.*--columns Price=close,Vol.=volume"):
        load_file(path, cache=False)
