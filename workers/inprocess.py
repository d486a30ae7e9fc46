"""Runs a cycle's steps in this process, in threads, honouring the DAG (the embedded default, or no workers)."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import redis

from blackboard.cycles import CycleRecord
from blackboard.errors import StoreUnavailable
from workers.dag import steps_for
from workers.runner import execute_step
from workers.runtime import Runtime

logger = logging.getLogger(__name__)


class RedisLost(RuntimeError):
    """Redis went away mid-run; the cycle can be resumed with ``improve run``."""


def run_in_process(runtime: Runtime, record: CycleRecord, steps: list[str], parallel: int = 3) -> None:
    order = [step for step in steps_for(record.kind) if step.name in steps]
    done: set[str] = set()
    running: dict[str, Future[object]] = {}
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="step") as pool:
        while len(done) < len(order):
            for step in order:
                ready = all(need in done or need not in steps for need in step.needs)
                if ready and step.name not in done and step.name not in running:
                    running[step.name] = pool.submit(execute_step, runtime, record.cycle_id, record.run, step.name)
            finished, _ = wait(list(running.values()), return_when=FIRST_COMPLETED)
            for name, future in list(running.items()):
                if future not in finished:
                    continue
                del running[name]
                done.add(name)
                error = future.exception()
                if isinstance(error, (redis.ConnectionError, StoreUnavailable)):
                    for other in running.values():
                        other.cancel()
                    raise RedisLost(f"lost Redis during step {name}: {error}") from error
