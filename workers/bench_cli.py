"""`improve bench`: benchmark models now, against their rolling baseline."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from agents.suite import SuiteError
from workers.console import emit, err, handles_errors, load_settings, setup_logging

FORMATS = ("native", "gsm8k", "humaneval", "mbpp", "hotpotqa", "arc")


def describe(data: dict[str, object]) -> str:
    lines = [f"benchmark run {data['run_id']}" + ("  (INVALID: too many errors to judge)" if data["invalid"] else "")]
    models = data["models"]
    assert isinstance(models, dict)
    for model, m in models.items():
        overall = "n/a" if m["overall"] is None else f"{m['overall']:.3f}"
        p95 = "n/a" if m["latency_p95"] is None else f"{m['latency_p95'] * 1000:.0f} ms"
        lines.append(f"  {model}: score {overall} (95% CI {m['ci'][0] or 0:.3f}-{m['ci'][1] or 0:.3f}), "
                     f"errors {m['error_rate']:.0%}, unparsed {m['unparsed_rate']:.0%}, p95 {p95}")
        lines += [f"    {category:<18} {score:.3f}" if score is not None else f"    {category:<18} n/a"
                  for category, score in m["categories"].items()]
    regressions = data["regressions"]
    assert isinstance(regressions, list)
    for r in regressions:
        p_value = "n/a" if r["p_value"] is None else f"{r['p_value']:.4f}"
        lines.append(f"  {r['severity'].upper()}: {r['model']} {r['category']} {r['metric']} "
                     f"drop {r['drop']:.1%} (p={p_value})")
    notes = data.get("notes") or []
    assert isinstance(notes, list)
    lines += [f"  note: {note}" for note in notes]
    return "\n".join(lines)


@click.command()
@click.option("--models", default=None, help="Comma-separated model ids (default: the routed models).")
@click.option("--suite", "suite_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A suite file (default: the shipped starter suite).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="The suite file's format.")
@click.option("--categories", default=None, help="Comma-separated categories to run (default: all).")
@click.option("--run-id", default=None, help="Resume this run (its finished cases are not asked again).")
@click.option("--fail-on-regression", is_flag=True, help="Exit with status 3 on an alert or critical regression.")
@click.option("--json", "as_json", is_flag=True)
@click.option("-v", "--verbose", is_flag=True)
@handles_errors
def bench(models: str | None, suite_path: Path | None, fmt: str | None, categories: str | None,
          run_id: str | None, fail_on_regression: bool, as_json: bool, verbose: bool) -> None:
    """Benchmark models on the suite now: scores, latency, and regressions against their baseline."""
    from workers.bench import routed_models
    from workers.bench_run import run_benchmark
    from workers.runtime import opened

    settings = load_settings()
    setup_logging(verbose, settings.secrets())
    if categories:
        settings = settings.model_copy(update={"bench_categories": [c.strip() for c in categories.split(",")
                                                                    if c.strip()]})
    with opened(settings) as runtime:
        chosen = [m.strip() for m in models.split(",") if m.strip()] if models else routed_models(runtime)
        if not chosen:
            raise click.UsageError("no models to benchmark: pass --models, or set IMPROVE_ROUTING or "
                                   "IMPROVE_BENCH_MODELS")
        run_id = run_id or f"bench-{runtime.clock.now():%Y%m%dT%H%M%S}"
        err.print(f"benchmarking {', '.join(chosen)} (run {run_id})", markup=False)
        try:
            outcome = run_benchmark(runtime, run_id, run_id, "manual", chosen, suite_path=suite_path,
                                    suite_format=fmt)
        except SuiteError as exc:
            raise click.UsageError(str(exc)) from exc
    data = outcome.to_json()
    emit(data, as_json, describe(data))
    if fail_on_regression and any(r["severity"] in ("alert", "critical") for r in data["regressions"]):
        sys.exit(3)
