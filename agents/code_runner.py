"""Running model-written Python in a child process with a wall-clock timeout and resource limits.

**This is NOT a security sandbox.** It keeps honest mistakes (infinite loops, memory bombs, output floods, stray
forked processes) from hurting the benchmark run: the child gets a fresh temporary directory as its working
directory, a minimal environment (no API keys or tokens), no stdin, limits on CPU seconds, address space, file
size and process count (root ignores the process limit), and its whole process group is killed when the wall
clock runs out or when it exits. Code written to escape on purpose can still read and write the user's files,
use the network, or leave the process group with ``setsid()``. Run benchmarks on hosts and accounts where that
is acceptable, or inside a container.
"""

from __future__ import annotations

import math
import os
import re
import resource
import selectors
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

TAIL_BYTES = 4096  # kept of each of stdout and stderr (the end, where tracebacks are)
MEMORY_BYTES = 1 << 30
FILE_BYTES = 16 << 20
EXTRA_TASKS = 256  # processes/threads the code may add to what the system already runs
DRAIN_SECONDS = 1.0  # reading what is left in the pipes after the child exited
Status = Literal["ok", "crashed", "timeout", "error"]


@dataclass(frozen=True)
class Execution:
    status: Status  # ok: exit 0; crashed: non-zero exit or a signal; timeout; error: could not start
    returncode: int | None
    stdout_tail: str
    stderr_tail: str
    seconds: float

    @property
    def last_error_line(self) -> str:
        """The last non-empty stderr line (the exception, for a traceback), at most 200 characters."""
        lines = [line.strip() for line in self.stderr_tail.splitlines() if line.strip()]
        if lines:
            return lines[-1][:200]
        if self.returncode is not None and self.returncode < 0:
            return f"killed by {signal.Signals(-self.returncode).name}"
        return ""


def _limits(timeout: float, memory_bytes: int) -> list[tuple[int, int, int]]:
    cpu = math.ceil(timeout) + 1
    wanted = [(resource.RLIMIT_CPU, cpu), (resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_FSIZE, FILE_BYTES),
              (resource.RLIMIT_CORE, 0)]
    try:  # the 4th field of /proc/loadavg is running/total tasks on the whole system, an upper bound for ours
        tasks = int(Path("/proc/loadavg").read_text().split()[3].split("/")[1])
        wanted.append((resource.RLIMIT_NPROC, tasks + EXTRA_TASKS))
    except (OSError, IndexError, ValueError):
        pass
    limits = []
    for which, value in wanted:
        soft, hard = value, value + 1 if which == resource.RLIMIT_CPU else value  # SIGXCPU first, then SIGKILL
        _, current = resource.getrlimit(which)
        if current != resource.RLIM_INFINITY:  # only root may raise a hard limit
            soft, hard = min(soft, current), min(hard, current)
        limits.append((which, soft, hard))
    return limits


# The child applies its limits itself, first thing, before the program runs. (Not in a ``preexec_fn``: scoring
# runs in worker threads, and a preexec_fn is not safe in a process with threads.)
_LAUNCHER = """import resource, runpy, sys
for which, soft, hard in {limits!r}:
    try:
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        pass  # a limit this platform does not support
sys.argv = [{program!r}]
runpy.run_path({program!r}, run_name={run_name!r})
"""


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether the child has exited, without reaping it (its pid keeps naming the process group until then)."""
    if hasattr(os, "waitid"):
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    return process.poll() is not None


def _collect(process: subprocess.Popen[bytes], deadline: float) -> tuple[bytes, bytes, bool]:
    """Both pipes' tails until they close (or the child exited and its group is killed); True if time ran out."""
    assert process.stdout is not None and process.stderr is not None
    tails = {process.stdout.fileno(): bytearray(), process.stderr.fileno(): bytearray()}
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        for fd in tails:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            now = time.monotonic()
            if exited_at is None and _exited(process):
                exited_at = now
                _kill_group(process.pid)  # whatever it forked and left behind
            if exited_at is None and now >= deadline:
                return bytes(tails[process.stdout.fileno()]), bytes(tails[process.stderr.fileno()]), True
            if exited_at is not None and now - exited_at > DRAIN_SECONDS:
                break  # a process that left the group still holds the pipes
            wait = 0.05 if exited_at is not None else max(0.0, min(0.05, deadline - now))
            for key, _ in selector.select(timeout=wait):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                tail = tails[key.fd]
                tail += chunk
                del tail[:-TAIL_BYTES]
    timed_out = False
    try:
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True  # it closed its pipes but kept running
    return bytes(tails[process.stdout.fileno()]), bytes(tails[process.stderr.fileno()]), timed_out


def run_python(source: str, timeout: float = 3.0, *, run_name: str = "__main__",
               memory_bytes: int = MEMORY_BYTES) -> Execution:
    """Run ``source`` with ``python -I`` in a fresh temporary directory; see the module docstring for the limits.

    With ``run_name`` other than ``"__main__"`` the program runs as a module of that name, so an
    ``if __name__ == "__main__":`` block in it does not run.
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="improve-code-", ignore_cleanup_errors=True) as work:
        program = Path(work, "program.py")
        program.write_text(source, encoding="utf-8", errors="replace")
        script = Path(work, "launch.py")
        script.write_text(_LAUNCHER.format(limits=_limits(timeout, memory_bytes), program=str(program),
                                           run_name=run_name))
        env = {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": work, "TMPDIR": work}
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", str(script)], cwd=work, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            return Execution("error", None, "", f"could not start python: {exc}", time.monotonic() - started)
        try:
            out, err, timed_out = _collect(process, started + timeout)
        finally:
            _kill_group(process.pid)
            process.wait()
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
    seconds = time.monotonic() - started
    status: Status = "timeout" if timed_out else "ok" if process.returncode == 0 else "crashed"
    return Execution(status, None if timed_out else process.returncode, out.decode("utf-8", "replace"),
                     err.decode("utf-8", "replace"), seconds)


# ---- the program a code case runs ---------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^([ \t]*)(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n]*\n", re.M)


def extract_code(text: str) -> str:
    """The first ```python/```py block, else the first untagged block, else the whole response (unterminated
    fences run to the end: a cut-off answer is still run)."""
    text = text.replace("\r\n", "\n")
    blocks: list[tuple[str, str]] = []
    position = 0
    while (opening := _FENCE_OPEN.search(text, position)) is not None:
        indent, fence, language = opening.groups()
        closer = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.M)
        closing = closer.search(text, opening.end())
        body = text[opening.end(): closing.start() if closing else len(text)]
        blocks.append((language.lower(), textwrap.dedent(body) if indent else body))
        position = closing.end() if closing else len(text)
    for wanted in (("python", "py", "python3"), ("",)):
        for language, body in blocks:
            if language in wanted:
                return body.rstrip() + "\n"
    return text.lstrip("\n").rstrip() + "\n"


def build_program(solution: str, tests: str, entry_point: str | None, prefix: str | None, sentinel: str) -> str:
    """prefix (all of it for a completion, only its imports for a full definition of entry_point) + solution +
    tests (+ ``check(entry_point)`` when the tests define check) + a line printing ``sentinel`` when they finish."""
    head = ""
    if prefix:
        defines = entry_point and re.search(rf"^(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", solution, re.M)
        if defines:  # a complete function: keep only the prefix's imports (typing names and the like)
            head = "".join(line + "\n" for line in prefix.splitlines() if re.match(r"(?:from|import)\s+\w", line))
        else:  # a completion that continues the prefix (HumanEval style)
            head = prefix if prefix.endswith("\n") else prefix + "\n"
    call = f"\n\ncheck({entry_point})\n" if re.search(r"^def\s+check\s*\(", tests, re.M) else "\n"
    return f"{head}{solution}\n\n{tests.rstrip()}\n{call}\n__import__('os').write(1, b'\\n{sentinel}\\n')\n"
