"""Shared helpers for the benchmarks: a private, throw-away redis-server on a free loopback port.

Never touches any other Redis: each benchmark starts its own server in a temp dir (no RDB, no AOF, loopback only)
and shuts it down on the way out, also on an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

STARTUP_TIMEOUT = 10.0


class ServerFailed(RuntimeError):
    """The private redis-server did not come up."""


@dataclass(frozen=True)
class PrivateRedis:
    host: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def client(self, decode_responses: bool = False) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, db=0, decode_responses=decode_responses)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (the caller retries if it is taken before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _start(binary: str, directory: Path, port: int) -> subprocess.Popen[bytes]:
    log = directory / "redis.log"
    return subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory), "--logfile", str(log), "--daemonize", "no"],
        cwd=directory, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we stop it in order
    )


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=2,
                         retry=Retry(NoBackoff(), 0))  # poll ourselves; redis-py's default retry backs off
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.ping():
                    return True
            except redis.ConnectionError:
                time.sleep(0.02)
        return False
    finally:
        client.close()


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Signal one process we started and wait for it; kill it if it does not go in time."""
    if process.poll() is not None:
        return
    try:
        process.send_signal(sig)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


@contextmanager
def private_redis(attempts: int = 5) -> Iterator[PrivateRedis]:
    """Start redis-server on a free loopback port in a temp dir; stop it and remove the dir when done."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerFailed("no redis-server on the PATH")
    with tempfile.TemporaryDirectory(prefix="improve-perf-redis-") as tmp:
        directory = Path(tmp)
        process: subprocess.Popen[bytes] | None = None
        port = 0
        try:
            for _ in range(attempts):  # the port may be taken between free_port() and the server's bind
                port = free_port()
                process = _start(binary, directory, port)
                if _wait_ready(process, port):
                    break
                stop_process(process, signal.SIGKILL)
                process = None
            if process is None:
                raise ServerFailed(f"redis-server did not start; last log:\n{log_tail(directory / 'redis.log')}")
            yield PrivateRedis("127.0.0.1", port, directory, process)
        finally:
            if process is not None:
                # SIGTERM is redis-server's own clean shutdown: with no save points and no AOF it writes
                # nothing. (SHUTDOWN through redis-py gets retried with backoff once the server hangs up.)
                stop_process(process)


def sigterm_as_exit() -> None:
    """Turn SIGTERM into SystemExit so ``finally`` blocks stop what the benchmark started."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def run_benchmark(main: Callable[[], int]) -> None:
    """A benchmark's entry point: exit with its status; a Ctrl-C exits 130 after everything was stopped."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # everything started was stopped on the way out
        print("interrupted", file=sys.stderr)
        sys.exit(130)
