"""The SQLite store: queries, rollups and retention, several writing processes at once."""

import multiprocessing

import pytest

from workbench.monitor import MetricStore
from workbench.monitor.store import label_key

L = label_key({})


def test_series_latest_and_export(tmp_path):
    s = MetricStore(tmp_path / "m.sqlite")
    s.write([(100.0, "a", L, 1.0), (101.0, "a", L, 2.0), (100.5, "b", label_key({"r": "X"}), 7.0)])
    a = s.series("a")
    assert a["value"].tolist() == [1.0, 2.0] and a["time"].iloc[0].timestamp() == 100.0
    assert s.series("a", since=100.5)["value"].tolist() == [2.0]
    latest = s.latest().set_index("name")
    assert latest.loc["a", "value"] == 2.0 and latest.loc["b", "labels"] == {"r": "X"}
    assert len(s.all_samples()) == 3


def test_prune_rolls_up_by_minute_then_expires(tmp_path):
    s = MetricStore(tmp_path / "m.sqlite", raw_retention=3600, rollup_retention=7200)
    s.write([(60.0 * 10 + i, "x", L, float(i)) for i in range(60)])  # minute 10: 0..59
    s.write([(60.0 * 11, "x", L, 100.0), (5000.0, "x", L, 1.0)])
    touched = s.prune(now=60 * 11 + 3600 + 1)  # raw before minute 11 (+1 s) rolls up
    assert touched["raw_deleted"] == 61
    r = s.rollups("x")
    assert r[["avg", "min", "max", "count"]].values.tolist() == [[29.5, 0.0, 59.0, 60], [100.0, 100.0, 100.0, 1]]
    assert s.series("x")["value"].tolist() == [1.0]  # the recent sample stays raw
    s.prune(now=60 * 11 + 7200 + 1)
    assert s.rollups("x")["time"].tolist() == []  # rollups past their retention are gone


def _writer(path, worker, rounds):
    s = MetricStore(path)
    for i in range(rounds):
        s.write([(float(i), "load", label_key({"w": str(worker)}), float(j)) for j in range(20)])
    s.close()


def test_several_processes_write_without_database_locked(tmp_path):
    path = tmp_path / "shared.sqlite"
    MetricStore(path).close()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, w, 150)) for w in range(4)]
    for p in procs:
        p.start()
    reader = MetricStore(path)
    reads = 0
    while any(p.is_alive() for p in procs):
        reader.latest()  # a dashboard reading meanwhile
        reads += 1
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]  # a "database is locked" would exit 1
    assert len(reader.all_samples()) == 4 * 150 * 20 and reads > 0


def test_unusable_store(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(Exception, match="not a usable monitor store"):
        MetricStore(junk)
