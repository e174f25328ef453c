"""Test-wide settings: a private feed cache and a reproducible hypothesis profile."""

import os

import pytest
from hypothesis import HealthCheck, settings

# Derandomized in CI so a red run can be repeated exactly; random locally to find more.
settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Never write into the user's ~/.cache from a test."""
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("feed-cache")))
