"""pyarrow's streaming CSV reader reads plain CSV files where it reads them as pandas' reader
does, and hands every other file to pandas: each file here loads to the same frame and
report (or the same error) both ways, and the clean ones are shown to take pyarrow's way."""

import pandas as pd
import pytest

from workbench.errors import DataError
from workbench.feed import files, load_file

HEAD = "time,symbol,open,high,low,close,volume\n"
ROW = "2024-01-0{d},ABC,1.5,2.0,1.0,{c},100\n"


def rows(*closes, head=HEAD):
    return head + "".join(ROW.format(d=i + 2, c=c) for i, c in enumerate(closes))


# (name, file text, load options, whether pyarrow reads it)
CASES = [
    ("plain.csv", rows("1.75", "2.25", "1.5"), {}, True),
    ("ints.csv", rows("2", "1", "-0"), {}, True),
    ("exponents.csv", rows("1.75e0", "+1.5", ".5e1", "inf"), {}, True),
    ("blank_lines.csv", rows("1.75", "1.5", "-1.5").replace("100\n2024", "100\n\n\n2024") + "\n",
     {"on_error": "drop"}, True),  # (the bad row's line counts the blank ones)
    ("empty_cells.csv", rows("", "1.5", "1.75").replace("2.0,1.0,,", ",1.0,,"), {}, True),
    ("crlf.csv", rows("1.75", "1.5").replace("\n", "\r\n"), {}, True),
    ("bom.csv", "\ufeff" + rows("1.75", "1.5"), {}, True),
    ("quoted.csv", rows("1.75", "1.5").replace("ABC", '"ABC"'), {}, True),
    ("semicolon.csv", rows("1.75", "1.5").replace(",", ";"), {}, True),
    ("tab.tsv", rows("1.75", "1.5").replace(",", "\t"), {}, True),
    ("rules.csv", rows("1.75", "3.0", "0.5", "1.5").replace("2024-01-05", "2024-01-03"), {"on_error": "drop"}, True),
    ("offsets.csv", rows("1.75", "1.5").replace("2024-01-02", "2024-01-02T15:30:00+01:00"), {}, True),
    ("local.csv", rows("1.75", "1.5").replace("2024-01-02", "2024-03-10 02:30"),
     {"tz": "America/New_York", "on_error": "drop"}, True),
    ("slashed.csv", rows("1.75", "1.5").replace("2024-01-02", "13/01/2024").replace("2024-01-03", "14/01/2024"), {},
     True),
    ("close_only.csv", "date,close\n2024-01-02,1.5\n2024-01-03,1.75\n", {}, True),
    ("wide.csv", "Date,SPY,QQQ\n2024-01-02,1.5,\n2024-01-03,1.75,2.5\n", {"wide": True}, True),
    ("mapped.csv", rows("1.75", "1.5", head="dt,ticker,o,h,l,c,vol\n"),
     {"columns": {"dt": "time", "ticker": "symbol", "o": "open", "h": "high", "l": "low", "c": "close",
                  "vol": "volume"}}, True),
    ("no_symbol.csv", "time,open,high,low,close,volume\n2024-01-02,1.5,2.0,1.0,1.75,100\n", {}, True),
    # pandas' way: a spelled-out NaN is a value to pandas, a missing cell to pyarrow
    ("nan.csv", rows("nan", "1.5"), {"on_error": "drop"}, False),
    ("bad_cell.csv", rows("x", "1.5"), {}, False),
    ("bad_cell_dropped.csv", rows("x", "1.5", "1,75"), {"on_error": "drop"}, False),
    ("spaced.csv", rows(" 1.5 ", "1.5"), {}, True),
    ("short_line.csv", rows("1.75", "1.5").replace(",100\n2024-01-03", "\n2024-01-03"), {"on_error": "drop"}, False),
    ("long_line.csv", rows("1.75", "1.5").replace("1.75,100", "1.75,100,7"), {}, False),
    ("trailing_delimiter.csv", rows("1.75", "1.5").replace("\n", ",\n"), {}, False),
    ("repeated_name.csv", "time,close,close\n2024-01-02,1.5,1.5\n", {}, False),
    ("extra_text.csv", rows("1.75", head=HEAD.replace("\n", ",note\n")).replace("100\n", "100,hello\n"), {},
     False),
    ("bool.csv", rows("TRUE", "1.5"), {}, False),
    ("hex_symbol.csv", rows("1.75").replace("ABC", "0XYZ"), {}, False),  # (0x anywhere: pandas reads it)
    ("header_only.csv", HEAD, {}, False),  # no rows: no column is all numbers
]


def alike(fast, slow):
    """The same error, or the same frame (bit for bit: -0.0 is not 0.0) and report."""
    assert fast[0] == slow[0]
    if fast[0] == "error":
        assert fast == slow
        return
    pd.testing.assert_frame_equal(fast[1], slow[1], check_exact=True)
    assert fast[2] == slow[2]
    for column in ("close", "volume"):
        assert fast[1][column].to_numpy().view("int64").tolist() == slow[1][column].to_numpy().view("int64").tolist()


def outcome(path, options):
    try:
        loaded = load_file(path, cache=False, **options)
    except DataError as exc:
        return ("error", str(exc), exc.line, exc.column, exc.rule)
    return ("loaded", loaded.frame, loaded.report.to_dict())


@pytest.mark.parametrize("name,text,options,arrow", CASES, ids=[c[0] for c in CASES])
def test_pyarrow_and_pandas_read_a_file_alike(tmp_path, monkeypatch, name, text, options, arrow):
    path = tmp_path / name
    path.write_text(text, newline="")
    taken = []
    real = files._read_csv_arrow

    def spy(*args):
        raw = real(*args)
        taken.append(raw is not None)
        return raw

    monkeypatch.setattr(files, "_read_csv_arrow", spy)
    fast = outcome(path, options)
    monkeypatch.setattr(files, "_read_csv_arrow", lambda *args: None)  # pandas only
    slow = outcome(path, options)
    assert taken == [arrow]
    alike(fast, slow)


def test_a_spelled_out_nan_is_read_by_pandas(tmp_path):
    """pyarrow reads ``nan`` as a missing cell; pandas as a value that is not a price."""
    path = tmp_path / "nan.csv"
    path.write_text(rows("nan", "1.5"))
    report = load_file(path, cache=False, on_error="drop").report
    assert report.bad_rows == 1 and [v.rule for v in report.violations] != ["missing_value"]


def test_a_long_file_streams_through_pyarrow_with_a_progress_bar(tmp_path, monkeypatch, capsys):
    path = tmp_path / "long.csv"
    path.write_text(HEAD + "".join(f"2024-01-02T{h:02d}:{m:02d}:00Z,ABC,1.5,2.0,1.0,1.75,100\n"
                                   for h in range(24) for m in range(60)))
    monkeypatch.setattr(files, "ARROW_BLOCK", 4096)  # many blocks
    monkeypatch.setattr(files, "PROGRESS_BYTES", 1)  # and counts as long
    import tqdm.auto

    bars = []

    class Bar(tqdm.auto.tqdm):  # the bytes the bar was told of
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    streamed = load_file(path, cache=False, progress=True)
    assert "reading long.csv" in capsys.readouterr().err
    assert [(b.n, b.total) for b in bars] == [(path.stat().st_size, path.stat().st_size)]
    monkeypatch.setattr(files, "_read_csv_arrow", lambda *args: None)
    pd.testing.assert_frame_equal(streamed.frame, load_file(path, cache=False).frame, check_exact=True)
    assert len(streamed.frame) == 24 * 60


@pytest.mark.parametrize("extra", [[], ["2024-01-02 09:30 \u00a0"]], ids=["ascii", "not-ascii"])
def test_offsets_are_found_by_pyarrow_as_by_pythons_re(extra):
    """Which times carry an offset: pyarrow's RE2 on ASCII text, Python's ``re`` otherwise."""
    text = ["2024-01-02T09:30:00-05:00", "2024-01-02 09:30:00Z", "2024-01-02", "2024-01-02 09:30 +0100",
            "2024-01-02T0930-05", "2024-01-02T09:30:00.123+01", "01/02/2024", "2024-01-02 09:30:00 ", None,
            "2024-01-02T09:30:00 Z", "2024-01-02T093000+01", "", "Z", "2024-01-02T09:30:00Z\x0b",
            "2024-01-02T09:30:00+05:00\x1f", "2024-01-02T09+05", "2024-01-02 0930 -05"] + extra
    col = pd.Series(text, dtype="string")
    assert files._has_offset(col).tolist() == col.astype(object).str.contains(files._OFFSET, na=False).tolist()
    assert files._has_offset(col).tolist()[:4] == [True, True, False, True]


ISO = ["2024-01-02T09:30:00Z", "2024-01-02T09:30:00-05:00", "2024-01-02 09:30:00+0100", "2024-01-02T09:30Z",
       "2024-01-02T09:30:00.123456789Z", "2024-01-02T09:30:00+01", "2024-01-02T09:30:00.5+01:00", "2024-01-02Z",
       "2024-01-02T0930-05", "2024-01-02T09:30:00 Z", "2024-01-02T24:00:00Z", "2024-01-02T23:59:60Z",
       "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-01-02T09:30:00,5Z", "20240102T093000Z",
       "2024-01-02T09:30:00.1234567891Z", "9999-01-02T00:00:00Z", "1600-01-02T00:00:00Z", "2024-01-02T09:30:00z",
       "2024-01-02", "2024-01-02 09:30", "2024-01-02T9:30", "2024-1-2", "2024-01-02T09", "2024-01-02 09:30:00 ",
       "  2024-01-02", "2024-03-10 02:30", "2024-13-01", "x", "2024-01-02T09:30:00.000000001"]


@pytest.mark.parametrize("utc", [True, False])
def test_iso_times_are_read_by_pyarrow_as_by_pandas(utc):
    """Each text alone, and all together (where pyarrow reads not all of them, pandas reads them)."""
    def both(texts):
        fast = files._iso_times(pd.Series(texts, dtype="string"), utc)  # Arrow strings: pyarrow first
        slow = files._iso_times(pd.Series(texts, dtype=object), utc)  # pandas
        return pd.DatetimeIndex(fast).as_unit("ns").asi8.tolist(), pd.DatetimeIndex(slow).as_unit("ns").asi8.tolist()

    texts = ISO if utc else [t for t in ISO if not files._OFFSET.search(t)]  # (as the caller splits them)
    for text in texts:
        fast, slow = both([text])
        assert fast == slow, text
    fast, slow = both(texts)
    assert fast == slow


def test_clean_iso_times_are_read_by_pyarrow(monkeypatch):
    texts = pd.Series(["2024-01-02T09:30:00Z", "2024-01-02T09:30:00.5-05:00"], dtype="string")
    monkeypatch.setattr(pd, "to_datetime", None)  # pandas' reader unused
    assert pd.DatetimeIndex(files._iso_times(texts, True)).strftime("%H:%M:%S.%f").tolist() == [
        "09:30:00.000000", "14:30:00.500000"]


# found by a fuzzing review: pyarrow reads 0x10 as 16 and a number beyond int64 as a float,
# pandas keeps both as text or Python integers; Python's \s has \v and \x1c-\x1f, RE2's not
MORE = [
    ("hex.csv", "time,symbol,close,volume\n2024-01-02,A,1.5,0x10\n", {}),
    ("hex_close.csv", "time,symbol,close\n2024-01-02,A,0X10\n", {}),
    ("hex_wrap.csv", "time,symbol,close,volume\n2024-01-02,A,1.5,0xffffffffffffffff\n", {}),
    ("beyond_int64.csv", "time,symbol,close\n2024-01-02,A,9223372036854775808\n2024-01-03,A,-1\n", {}),
    ("below_int64.csv", "time,symbol,open,high,low,close,volume\n2024-01-02,A,1,2,1,1,-9223372036854775809\n", {}),
    ("minus_zero.csv", "time,symbol,open,high,low,close,volume\n2024-01-02,A,1,2,1,1,-0\n"
                       "2024-01-03,A,1,2,1,1,9223372036854775809\n", {"on_error": "drop"}),
    ("vertical_tab.csv", "time,symbol,close\n2024-01-02T09:30:00+05:00\x0b,A,1\n2024-01-03,A,1\n", {}),
    ("hour_offset.csv", "time,symbol,close\n2024-01-02T09+05,A,1\n2024-01-03T09:30:00,A,2\n", {}),
]


@pytest.mark.parametrize("name,text,options", MORE, ids=[c[0] for c in MORE])
def test_what_a_review_found_reads_alike_both_ways_and_without_a_traceback(tmp_path, monkeypatch, name, text,
                                                                           options):
    path = tmp_path / name
    path.write_bytes(text.encode())
    fast = outcome(path, options)
    monkeypatch.setattr(files, "_read_csv_arrow", lambda *args: None)
    slow = outcome(path, options)
    alike(fast, slow)


def test_a_time_with_an_offset_and_a_trailing_control_character_keeps_its_offset(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"time,symbol,close\n2024-01-02T09:30:00+05:00\x0b,A,1\n2024-01-03,A,1\n")
    assert [str(t) for t in load_file(path, cache=False).frame.index] == ["2024-01-02 04:30:00+00:00",
                                                                         "2024-01-03 00:00:00+00:00"]
    hour = tmp_path / "h.csv"
    hour.write_text("time,symbol,close\n2024-01-02T09+05,A,1\n2024-01-03T09:30:00,A,2\n")
    assert [str(t) for t in load_file(hour, cache=False).frame.index] == ["2024-01-02 04:00:00+00:00",
                                                                         "2024-01-03 09:30:00+00:00"]


def test_an_offset_of_a_form_not_known_beside_naive_times_is_a_bad_time_not_a_traceback(tmp_path):
    """pandas reads +050 as an offset and refuses to mix it with naive times: the row breaks time_parse."""
    path = tmp_path / "odd.csv"
    path.write_text("time,symbol,close\n2024-01-02T09:30+050,A,1\n2024-01-03T09:30,A,2\n")
    with pytest.raises(DataError) as info:
        load_file(path, cache=False)
    assert (info.value.line, info.value.column, info.value.rule) == (2, "time", "time_parse")
    assert len(load_file(path, cache=False, on_error="drop").frame) == 1


def test_times_pandas_reads_as_a_mix_only_together_are_bad_times_not_a_traceback(tmp_path):
    """pandas reads 2024-01-02T09:30:00z as naive alone, but as UTC after a first ISO time: the
    naive texts pandas still refuses to mix all break time_parse (the text with an offset is kept)."""
    path = tmp_path / "mix.csv"
    path.write_text("time,symbol,close\n1677-09-21T00:12:43.145224192,A,1\n2024-01-02T09:31:00-05:00,B,2\n"
                    "01/02/2024,A,3\n2024-01-02T09:30:00z,B,4\n")
    with pytest.raises(DataError) as info:
        load_file(path, cache=False)
    assert (info.value.line, info.value.rule) == (2, "time_parse")
    kept = load_file(path, cache=False, on_error="drop")
    assert kept.report.counts() == {"time_parse": 3} and [str(t) for t in kept.frame.index] == [
        "2024-01-02 14:31:00+00:00"]


@pytest.mark.parametrize("progress", [False, True])
def test_hex_sends_a_file_to_pandas_with_or_without_a_progress_bar(tmp_path, monkeypatch, progress):
    path = tmp_path / "hex.csv"
    path.write_text("time,symbol,close,volume\n2024-01-02,A,1.5,0x10\n")
    monkeypatch.setattr(files, "PROGRESS_BYTES", 1)
    with pytest.raises(DataError, match="not a number"):
        load_file(path, cache=False, progress=progress)
    # the bytes are looked at as they are read: 0 and x may come in two reads
    with open(path, "rb") as f:
        counted = files._Counted(f, None)
        while counted.read(len("time,symbol,close,volume\n2024-01-02,A,1.5,0")):
            pass
    assert counted.hex
