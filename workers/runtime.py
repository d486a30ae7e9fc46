"""The runtime: settings, connections, the blackboard and its books, opened once per command or job."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from blackboard.clock import Clock
from blackboard.cycles import CycleBook
from blackboard.keys import Keys
from blackboard.proposals import ProposalBook
from blackboard.store import Blackboard
from workers.connection import Connections, board_client_like, from_url
from workers.embedded import EmbeddedRedis, start
from workers.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    connections: Connections
    embedded: EmbeddedRedis | None = None

    def __post_init__(self) -> None:
        self.clock: Clock = self.settings.clock()
        self.keys = Keys(self.settings.key_prefix)
        self.board = Blackboard(self.connections.board, self.keys, self.clock)
        self.cycles = CycleBook(self.connections.board, self.keys)
        self.proposals = ProposalBook(self.connections.board, self.keys)

    @property
    def uses_workers(self) -> bool:
        """Whether RQ workers can reach this Redis (not so for the embedded default)."""
        return self.embedded is None

    def close(self) -> None:
        self.connections.close()
        if self.embedded is not None:
            self.embedded.close()


def connect(settings: Settings) -> Runtime:
    """Connect to ``REDIS_URL``, or start the embedded default when it is not set."""
    if settings.redis_url is not None:
        return Runtime(settings, from_url(settings.redis_url.get_secret_value()))
    embedded = start(settings.state_dir, settings.embedded)
    return Runtime(settings, embedded.connections(), embedded)


@contextmanager
def opened(settings: Settings | None = None) -> Iterator[Runtime]:
    runtime = connect(settings or Settings())
    try:
        yield runtime
    finally:
        runtime.close()


def for_job(rq_connection: redis.Redis) -> Runtime:
    """The runtime inside an RQ job: the worker's own Redis, the rest from the environment."""
    board = board_client_like(rq_connection)
    return Runtime(Settings(), Connections(rq=rq_connection, board=board, description="rq worker connection"))
