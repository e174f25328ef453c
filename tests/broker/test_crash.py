"""SIGKILL a paper-trading child at random points; recover; nothing acknowledged is lost."""


from workbench.broker.crash import crash_trial

TRIALS = 50


def test_killed_sessions_recover_every_acknowledged_event(tmp_path):
    results = [crash_trial(tmp_path, seed) for seed in range(TRIALS)]
    failures = [r for r in results if not r.passed]
    assert not failures, failures[:3]
    assert sum(r.killed for r in results) >= TRIALS * 0.9  # killed mid-session, not after
    assert sum(r.acknowledged for r in results) > TRIALS * 50
    # Some kills land between the journal write and the acknowledgement: the journal is
    # then ahead of the last acknowledgement, which is allowed (it was never acknowledged).
    print(f"\n{TRIALS} trials, {sum(r.acknowledged for r in results)} acknowledgements, "
          f"{sum(r.checked for r in results)} states compared, "
          f"{sum(r.recovered_seq > r.acknowledged_seq for r in results)} journals ahead of the last ack")


def test_a_trial_detects_a_lost_acknowledgement(tmp_path, monkeypatch):
    """The check can fail: a journal that drops its last event is caught."""
    import workbench.broker.crash as crash
    from workbench.broker.broker import SimulatedBroker

    real = SimulatedBroker.recover

    def lossy(path, upto_seq=None, **kw):
        broker = real(path, upto_seq=upto_seq if upto_seq is None else max(upto_seq - 1, 0), **kw)
        return broker

    monkeypatch.setattr(SimulatedBroker, "recover", staticmethod(lossy))
    result = crash.crash_trial(tmp_path, seed=3, kill_after=40)
    assert not result.passed and result.mismatches
