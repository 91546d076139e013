"""WorkerUsage: per-worker CPU for summary.json, as a difference of readings over the run."""

from __future__ import annotations

from typing import Any, Callable

from dialflow.run import WorkerUsage, _worker_cpu_seconds


class FakeClient:
    """Answers `client.run` with the next set of per-worker readings."""

    def __init__(self, *readings: dict[str, float]) -> None:
        self.readings = list(readings)

    def run(self, function: Callable[..., Any], on_error: str = "raise") -> dict[str, float]:
        assert function is _worker_cpu_seconds
        assert on_error == "ignore"  # a worker that died meanwhile must not fail the run
        return self.readings.pop(0)


def test_cpu_is_the_difference_over_the_run_per_worker(monkeypatch):
    clock = iter([1000.0, 1004.0])
    monkeypatch.setattr("dialflow.run.time.time", lambda: next(clock))
    client = FakeClient(
        {"tcp://a:1": 10.0, "tcp://b:2": 3.0},
        # b used 6 s of CPU in 4 s (two threads); c joined during the run; a did nothing.
        {"tcp://a:1": 10.0, "tcp://b:2": 9.0, "tcp://c:3": 1.0},
    )
    usage = WorkerUsage.start(client)
    assert usage.finish(client) == {
        "tcp://a:1": {"cpu_seconds": 0.0, "cpu_share": 0.0},
        "tcp://b:2": {"cpu_seconds": 6.0, "cpu_share": 1.5},
        "tcp://c:3": {"cpu_seconds": 1.0, "cpu_share": 0.25},
    }


def test_the_worker_side_reading_is_this_process_cpu_time():
    before = _worker_cpu_seconds()
    sum(i * i for i in range(200_000))
    assert _worker_cpu_seconds() >= before > 0
