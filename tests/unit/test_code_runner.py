"""Running model-written code: limits, timeouts that kill the whole process group, and the code scorer on top."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agents.code_runner import FILE_BYTES, TAIL_BYTES, Execution, extract_code, run_python
from agents.scorers import score, validate
from agents.suite import Case

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups and resource limits")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie nobody reaped yet is dead too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def wait_until_gone(pid: int) -> bool:
    for _ in range(100):
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def run(source: str, timeout: float = 5.0, **kwargs: Any) -> Execution:
    return run_python(textwrap.dedent(source), timeout, **kwargs)


# ---- run_python ---------------------------------------------------------------------------------------------

def test_ok_run_captures_output() -> None:
    result = run("import sys\nprint('hello')\nprint('oops', file=sys.stderr)\n")
    assert (result.status, result.returncode) == ("ok", 0)
    assert result.stdout_tail == "hello\n" and result.stderr_tail == "oops\n" and result.seconds > 0


@pytest.mark.parametrize(("source", "last_line"), [
    ("raise ValueError('boom')", "ValueError: boom"),
    ("def f(:\n    pass", "SyntaxError: invalid syntax"),
    ("import sys\nsys.exit(3)", ""),
    ("input()", "EOFError: EOF when reading a line"),  # stdin is /dev/null
    ("assert 1 + 1 == 3, 'math is broken'", "AssertionError: math is broken"),
])
def test_non_zero_exit_is_crashed_with_the_last_stderr_line(source: str, last_line: str) -> None:
    result = run(source)
    assert result.status == "crashed" and result.returncode != 0 and result.last_error_line == last_line


def test_infinite_loop_times_out() -> None:
    result = run("while True:\n    pass\n", timeout=0.5)
    assert result.status == "timeout" and result.returncode is None


def test_timeout_kills_grandchildren_in_the_process_group(tmp_path: Path) -> None:
    pid_file, marker = tmp_path / "pid", tmp_path / "marker"
    result = run(f"""
        import os, time
        if os.fork() == 0:
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(1.0)
            open({str(marker)!r}, "w").write("escaped")
            os._exit(0)
        while True:
            pass
    """, timeout=0.5)
    assert result.status == "timeout"
    grandchild = int(pid_file.read_text())
    assert wait_until_gone(grandchild)
    time.sleep(1.5)  # past the moment the grandchild would have written
    assert not marker.exists()


def test_processes_left_behind_by_a_finished_run_are_killed(tmp_path: Path) -> None:
    pid_file, marker = tmp_path / "pid", tmp_path / "marker"
    result = run(f"""
        import os, sys, time
        if os.fork() == 0:
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(1.0)
            open({str(marker)!r}, "w").write("escaped")
            os._exit(0)
        while not os.path.exists({str(pid_file)!r}):
            time.sleep(0.01)
        print("parent done")
    """)
    assert result.status == "ok" and result.stdout_tail == "parent done\n"
    assert wait_until_gone(int(pid_file.read_text()))
    time.sleep(1.5)
    assert not marker.exists()


@pytest.mark.parametrize("source", [
    "x = bytearray(4 * 1024 ** 3)",
    "chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024 ** 2))",
])
def test_memory_bomb_is_stopped_by_the_address_space_limit(source: str) -> None:
    result = run(source, timeout=20.0)  # generous: filling 1 GiB on a loaded machine takes a while
    assert result.status == "crashed" and "MemoryError" in result.last_error_line


def test_file_size_is_limited() -> None:
    result = run("open('big', 'wb').write(b'x' * (64 * 1024 ** 2))")
    assert result.status == "crashed" and "File too large" in result.last_error_line


def test_output_flood_is_bounded() -> None:
    result = run("""
        import sys
        for _ in range(2000):
            sys.stdout.write("x" * 10000)
            sys.stderr.write("y" * 10000)
        print("END")
    """)
    assert result.status == "ok"
    assert len(result.stdout_tail) <= TAIL_BYTES and result.stdout_tail.endswith("xEND\n")
    assert len(result.stderr_tail) <= TAIL_BYTES and set(result.stderr_tail) == {"y"}


def test_endless_output_flood_times_out_bounded() -> None:
    result = run("while True:\n    print('x' * 1000)\n", timeout=0.5)
    assert result.status == "timeout" and len(result.stdout_tail) <= TAIL_BYTES


def test_environment_is_minimal_and_cwd_is_a_fresh_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-secret-for-test")
    result = run("import os, json\nprint(json.dumps([sorted(os.environ), os.getcwd(), sorted(os.listdir())]))")
    environ, cwd, files = __import__("json").loads(result.stdout_tail)
    assert "OPENROUTER_API_KEY" not in environ and set(environ) <= {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR"}
    assert cwd != os.getcwd() and files == ["launch.py", "program.py"] and not Path(cwd).exists()


def test_run_name_keeps_main_blocks_from_running() -> None:
    source = "def f():\n    return 1\nif __name__ == '__main__':\n    raise SystemExit(3)\nprint(__name__)\n"
    assert run(source).status == "crashed"
    assert run(source, run_name="__solution__").stdout_tail == "__solution__\n"


def test_the_child_runs_under_the_limits() -> None:
    result = run("""
        import resource
        print(resource.getrlimit(resource.RLIMIT_CPU), resource.getrlimit(resource.RLIMIT_AS),
              resource.getrlimit(resource.RLIMIT_FSIZE), resource.getrlimit(resource.RLIMIT_CORE))
    """, timeout=2.5, memory_bytes=512 * 1024 ** 2)
    assert result.stdout_tail.split("\n")[0] == f"(4, 5) ({512 * 1024 ** 2}, {512 * 1024 ** 2}) ({FILE_BYTES}, " \
        f"{FILE_BYTES}) (0, 0)"


def test_last_error_line_for_a_signal() -> None:
    assert Execution("crashed", -9, "", "", 0.1).last_error_line == "killed by SIGKILL"


# ---- extracting code ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("response", "code"), [
    ("Here:\n```python\ndef f():\n    return 1\n```\nDone.", "def f():\n    return 1\n"),
    ("```py\nx = 1\n```", "x = 1\n"),
    ("```Python3\nx = 1\n```", "x = 1\n"),
    ("```bash\npip install x\n```\n```python\nx = 2\n```", "x = 2\n"),  # the python block, not the first
    ("```\nx = 3\n```\n```python\nx = 4\n```", "x = 4\n"),
    ("```text\nnote\n```\n```\nx = 3\n```", "x = 3\n"),  # untagged when no python block
    ("```python\nx = 1\n```\n```python\nx = 2\n```", "x = 1\n"),  # the first one
    ("````python\ns = '```'\n````", "s = '```'\n"),  # a longer fence
    ("1. Code:\n   ```python\n   x = 5\n   ```", "x = 5\n"),  # an indented fence
    ("```python\ndef cut_off():\n    return", "def cut_off():\n    return\n"),  # unterminated
    ("\n\n    return a + b\n\n", "    return a + b\n"),  # a bare completion keeps its indentation
])
def test_extract_code(response: str, code: str) -> None:
    assert extract_code(response) == code


# ---- the code scorer ----------------------------------------------------------------------------------------

PREFIX = 'from typing import List\n\n\ndef total(numbers: List[int]) -> int:\n    """Sum of numbers."""\n'
CHECK = "def check(candidate):\n    assert candidate([1, 2, 3]) == 6\n    assert candidate([]) == 0\n"


def code_case(tests: str | None = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n", **args: Any) -> Case:
    return Case.model_validate({"id": "code1", "category": "coding", "prompt": "Write add(a, b).",
                                "scorer": "code", "scorer_args": {"tests": tests, **args}})


@pytest.mark.parametrize(("response", "status", "passed", "detail"), [
    ("```python\ndef add(a, b):\n    return a + b\n```", "scored", True, "passed in"),
    ("```python\ndef add(a, b):\n    return a - b\n```", "crashed", False, "AssertionError"),
    ("```python\ndef add(a, b)\n    return a + b\n```", "crashed", False, "SyntaxError"),
    ("```python\ndef add(a, b):\n    return undefined_name\n```", "crashed", False, "NameError"),
    ("```python\nimport sys\nsys.exit(0)\n```", "crashed", False, "exited before the tests finished"),
    ("```python\nimport os\nos._exit(0)\n```", "crashed", False, "exited before the tests finished"),
    ("```python\ndef add(a, b):\n    while True:\n        pass\n```", "timeout", False, "timed out after 0.5s"),
    ("<think>```python\ndef add(a, b):\n    return 0\n```</think>```python\ndef add(a, b):\n    return a + b\n```",
     "scored", True, "passed"),
    ("```python\ndef add(a, b):\n    return a + b\n\nif __name__ == '__main__':\n    print(add(int(input()), 1))\n```",
     "scored", True, "passed"),  # the demo block does not run (and input() would fail on /dev/null)
])
def test_code_scorer(response: str, status: str, passed: bool, detail: str) -> None:
    result = score(code_case(timeout=0.5 if status == "timeout" else 3.0), response)
    assert (result.status, result.passed, result.value) == (status, passed, float(passed))
    assert result.detail.startswith(detail) and result.answer is not None


def test_humaneval_style_check_with_a_completion_of_the_prefix() -> None:
    humaneval = code_case(CHECK, entry_point="total", prompt_prefix=PREFIX)
    assert score(humaneval, "    return sum(numbers)\n").passed
    assert not score(humaneval, "    return None\n").passed
    full = "```python\ndef total(numbers: List[int]) -> int:\n    return sum(numbers)\n```"  # uses the prefix's import
    assert score(humaneval, full).passed


def test_code_scoring_from_several_threads_at_once() -> None:  # the benchmark agent scores in worker threads
    good, bad = "```python\ndef add(a, b):\n    return a + b\n```", "```python\ndef add(a, b):\n    return 0\n```"
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda response: score(code_case(), response), [good, bad] * 4))
    assert [r.passed for r in results] == [True, False] * 4


def test_code_scorer_unparsed_and_bad_args() -> None:
    assert score(code_case(), "").unparsed and score(code_case(), "<think>def add(): ...</think>").unparsed
    for bad in (code_case(tests=None), code_case(CHECK), code_case(timeout=-1), code_case(entry_point="not a name"),
                code_case(timeout="3"), code_case(reference=5), code_case(run_as="root")):
        with pytest.raises(ValueError):
            validate(bad)
    validate(code_case(reference="def add(a, b):\n    return a + b\n"))
