"""The feed's component API: info, measured stats, and a self-test that can fail."""


from workbench.component import CheckResult
from workbench.feed import Feed, component, synthetic_quotes


def test_info_names_capabilities_and_config(tmp_path):
    info = Feed(cache_dir=tmp_path).info()
    assert info["name"] == "feed" and info["config"]["cache_dir"] == str(tmp_path)
    assert "datasets:sp500,nasdaq" in info["capabilities"]


def test_stats_count_what_happened(tmp_path):
    feed = Feed(cache_dir=tmp_path / "cache")
    assert feed.stats()["rows_loaded"] == 0
    bars = feed.dataset("sp500")
    path = tmp_path / "q.csv"
    synthetic_quotes(2, days=1, freq="1min", seed=0).to_csv(path)
    feed.read(path)
    feed.read(path)
    replay = feed.replay(bars, feed.read(path))
    n = sum(1 for _ in replay)
    stats = feed.stats()
    assert stats["rows_loaded"] == 5031 + 3 * 780
    assert (stats["cache_misses"], stats["cache_hits"]) == (1, 2)
    assert stats["events_replayed"] == n == 5031 + 780
    assert stats["events_per_second"] > 0 and stats["rows_per_second"] > 0


def test_self_test_passes_and_reports_each_check():
    results = Feed().self_test()
    assert [r.name for r in results] == [
        "datasets", "bad_file_rejected", "synthetic_deterministic", "replay_ordered", "csv_cache"
    ]
    assert all(isinstance(r, CheckResult) and r.passed for r in results), results
    assert all(r.duration_s > 0 for r in results)


def test_self_test_fails_when_the_component_is_broken(monkeypatch):
    # Break the replay: events coming out of order must fail the self-test.
    real = component.Replay

    class Shuffled(real):
        def __iter__(self):
            return reversed(list(super().__iter__()))

    monkeypatch.setattr(component, "Replay", Shuffled)
    results = {r.name: r for r in Feed().self_test()}
    assert not results["replay_ordered"].passed
    assert "out of order" in results["replay_ordered"].detail
    assert results["datasets"].passed
