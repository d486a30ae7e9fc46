"""The project's RQ worker: plain RQ, plus a quick check for steps abandoned by dead workers."""

from __future__ import annotations

import logging
from typing import Any

from rq import Worker

from workers.reaper import reap
from workers.runtime import for_job

logger = logging.getLogger(__name__)


class CycleWorker(Worker):
    """Runs RQ jobs as usual; its maintenance pass also hands back steps whose worker died."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        try:
            runtime = for_job(self.connection)
            try:
                for record in runtime.cycles.recent(5):
                    if record.run_steps:
                        reap(runtime, record)
            finally:
                runtime.connections.board.close()
        except Exception as exc:  # maintenance must never take the worker down
            logger.warning("reaping abandoned steps failed: %s", exc)


def worker_options(settings_lease: float) -> dict[str, Any]:
    """A short TTL so dead workers vanish from `improve status` quickly, and maintenance runs often."""
    return {"worker_ttl": 60, "maintenance_interval": max(10, int(settings_lease * 2))}
