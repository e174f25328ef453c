"""Where trials run: in this process, in local processes (the default), or on Dask.

Every executor runs the same batches of the same pure trial function, so a sweep gives
identical results on all of them (a test checks it with a real Dask LocalCluster). The
data frames travel once per worker (an initializer for processes, ``scatter`` for Dask),
not once per batch.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from workbench.errors import ConfigError
from workbench.optimize import fastpath
from workbench.optimize.trial import run_batch, set_worker_frames

class Executor:
    name = "executor"
    workers = 1

    def run(self, spec, frames, batches) -> Iterator[list[dict]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers."""


class InProcess(Executor):
    """Trials one after the other in this process."""

    name = "in-process"

    def run(self, spec, frames, batches):
        with fastpath.shared_frames():  # the sweep's frames, converted to arrays once, not once a batch
            for batch in batches:
                yield run_batch(spec, frames, batch)


class Processes(Executor):
    """A pool of ``jobs`` local processes."""

    def __init__(self, jobs: int) -> None:
        if jobs < 1:
            raise ConfigError(f"--jobs must be >= 1, got {jobs}")
        self.workers = jobs
        self.name = f"processes:{jobs}"
        self._pool: ProcessPoolExecutor | None = None
        self._frames_id = None

    def run(self, spec, frames, batches):
        if self._pool is None or self._frames_id != id(frames):
            self.close()
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=set_worker_frames, initargs=(frames,))
            self._frames_id = id(frames)
        futures = [self._pool.submit(run_batch, spec, None, b) for b in batches]
        for f in as_completed(futures):
            yield f.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class Dask(Executor):
    """Dask distributed: ``local:N`` starts a LocalCluster of N worker processes (closed
    with the executor); ``tcp://HOST:PORT`` uses an existing scheduler."""

    def __init__(self, address: str) -> None:
        from dask.distributed import Client, LocalCluster

        self.name = f"dask:{address}"
        self._cluster = None
        if address.startswith("local:"):
            try:
                n = int(address.split(":", 1)[1])
            except ValueError:
                raise ConfigError(f"--dask local:N needs a number of workers, got {address!r}") from None
            if n < 1:
                raise ConfigError(f"--dask local:N needs N >= 1, got {n}")
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         host="127.0.0.1", dashboard_address=None)
            self.client = Client(self._cluster)
        elif address.startswith("tcp://"):
            self.client = Client(address, timeout="10s")
        else:
            raise ConfigError(f"--dask takes local:N or tcp://HOST:PORT, got {address!r}")
        self.workers = max(1, len(self.client.scheduler_info()["workers"]))

    def run(self, spec, frames, batches):
        from dask.distributed import as_completed as dask_completed

        shared = self.client.scatter(frames, broadcast=True)
        futures = [self.client.submit(run_batch, spec, shared, b, pure=False) for b in batches]
        for f in dask_completed(futures):
            yield f.result()

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(jobs: int | None = None, dask: str | None = None) -> Executor:
    """``dask`` wins; ``jobs=0`` or 1 runs in process; ``None`` uses every core."""
    if dask:
        return Dask(dask)
    if jobs is None:
        jobs = os.cpu_count() or 1
    if jobs <= 1:
        return InProcess()
    return Processes(jobs)
