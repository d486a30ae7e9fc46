"""The `improve` command."""

from __future__ import annotations

import sys
from typing import Any

import click

from blackboard.cycles import CycleKind, CycleRecord
from workers.api_cli import serve
from workers.bench_cli import bench
from workers.catalog_cli import catalog, research, route, select, sync, versions
from workers.conductor import Conductor, Outcome, choose_mode
from workers.config_cli import approve, config, proposals, reject, rollback
from workers.console import emit, err, handles_errors, load_settings, setup_logging, show_event, warn
from workers.dag import QUEUES
from workers.runtime import opened
from workers.scheduler import describe_schedules, scheduler
from workers.status import gather
from workers.steps import write_cycle_report
from workers.trigger import wanted_cycle


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Keeps an LLM product's model catalog, routing and prompts current and safe, every week."""


def run_summary(outcome: Outcome) -> dict[str, Any]:
    record = outcome.record
    steps: dict[str, dict[str, Any]] = {}
    for event in outcome.events:
        if event.status.value != "started" or event.step not in steps:
            steps[event.step] = {"status": event.status.value, "seconds": event.seconds, "reason": event.reason}
    return {"cycle_id": record.cycle_id, "kind": record.kind, "safe": record.safe, "report_path": record.report_path,
            "steps": steps, "dry_run": record.dry_run, "action": outcome.action, "run": record.run,
            "published": outcome.published,
            "mode": outcome.mode, "reasons": record.safety_reasons,
            "finished_at": record.finished_at.isoformat() if record.finished_at else None}


def describe_publications(published: dict[str, Any]) -> list[str]:
    return [f"Published to {target}: {p.get('action')}" + (f" #{p['number']}" if p.get("number") else "")
            + (f" ({p['error']})" if p.get("error") else "") for target, p in published.items()]


def describe(record: CycleRecord, published: dict[str, Any]) -> str:
    lines = ["Dry run: nothing was applied."] if record.dry_run else []
    if record.report_path:
        lines.append(f"Report: {record.report_path}")
    lines += describe_publications(published)
    lines.append(f"SAFE={'true' if record.safe else 'false'}")
    lines.extend(f"  - {reason}" for reason in record.safety_reasons)
    return "\n".join(lines)


@main.command()
@click.option("--dry-run", is_flag=True, help="Compute the plan and diffs; apply nothing.")
@click.option("--no-benchmarks", is_flag=True, help="Skip the benchmark steps (the report says so).")
@click.option("--quick", is_flag=True, help="The quick cycle: catalog sync (quick) -> plan -> upgrade (LOW only).")
@click.option("--mode", type=click.Choice(["auto", "workers", "in-process"]), default="auto", show_default=True,
              help="Enqueue for RQ workers, or run the steps in this process (auto: workers if every queue has one).")
@click.option("--timeout", type=float, default=None, help="Give up following after this many seconds.")
@click.option("--fail-unsafe", is_flag=True, help="Exit with status 3 when the cycle ends SAFE=false.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Log what every part does (on stderr).")
@handles_errors
def run(dry_run: bool, no_benchmarks: bool, quick: bool, mode: str, timeout: float | None, fail_unsafe: bool,
        as_json: bool, verbose: bool) -> None:
    """Run this week's cycle now (or resume it; a finished cycle is not run twice)."""
    settings = load_settings()
    setup_logging(verbose, settings.secrets())
    with opened(settings) as runtime:
        kind: CycleKind = "quick" if quick else "weekly"
        chosen, why = choose_mode(runtime, mode, kind)
        wanted = wanted_cycle(runtime, kind, dry_run=dry_run, benchmarks=not no_benchmarks)
        err.print(f"cycle {wanted.cycle_id} ({kind}) on {runtime.connections.description}: "
                  f"running {'on workers' if chosen == 'workers' else 'in this process'} ({why})"
                  + ("; dry run: nothing will be applied" if dry_run else ""), markup=False)
        outcome = Conductor(runtime, on_event=show_event, on_warning=warn).drive(wanted, chosen, timeout)
        if outcome.action == "finished":
            err.print(f"cycle {wanted.cycle_id} had already finished; nothing ran again", markup=False)
        elif outcome.action == "running":
            err.print(f"cycle {wanted.cycle_id} was already running; followed it to its end", markup=False)
        summary = run_summary(outcome)
        emit(summary, as_json, describe(outcome.record, summary["published"]))
        if fail_unsafe and outcome.record.safe is False:
            sys.exit(3)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", default=10, show_default=True, help="How many recent cycles to list.")
@handles_errors
def status(as_json: bool, limit: int) -> None:
    """Recent cycles and their SAFE flag, what runs now, queues, workers, schedules, pending approvals."""
    settings = load_settings()
    setup_logging(False, settings.secrets())
    with opened(settings) as runtime:
        data = gather(runtime, limit)
    lines = [f"Redis: {data['redis']}", "Cycles:"]
    for cycle in data["cycles"]:
        safe = {True: "SAFE=true", False: "SAFE=false", None: "unfinished"}[cycle["safe"]]
        lines.append(f"  {cycle['cycle_id']:<32} {cycle['kind']:<6} {safe:<10} "
                     f"{cycle['finished_at'] or '-':<32} {cycle['report_path'] or ''}")
    if not data["cycles"]:
        lines.append("  none yet (run: improve run)")
    for running in data["running"]:
        steps = ", ".join(f"{k}={v}" for k, v in running["steps"].items())
        lines.append(f"Running: {running['cycle_id']} run {running['run']} ({running['where']}): {steps}")
    lines.append("Queues: " + ", ".join(f"{k}={v}" for k, v in data["queues"].items()))
    lines.append(f"Workers: {len(data['workers'])}" + "".join(
        f"\n  {w['name']} [{','.join(w['queues'])}] {w['state']}" for w in data["workers"]))
    lines.extend(describe_schedules(data["schedules"], data["schedulers"]))
    lines.append(f"Pending approvals: {len(data['pending_approvals'])}"
                 + (" (improve proposals --status pending)" if data["pending_approvals"] else ""))
    config = data["config"]
    lines.append(f"Live configuration: version {config['version']} of {config['created_at'][:16]} by {config['by']} "
                 f"({config['reason']}); {config['routes']} routed categories, exported to {config['export_path']}"
                 if config else "Live configuration: none yet (the first plan step seeds it)")
    emit(data, as_json, "\n".join(lines))


@main.command()
@click.option("--cycle", "cycle_id", default=None, help="Cycle id (default: the latest weekly cycle).")
@click.option("--publish", "publish_it", is_flag=True,
              help="Also publish it: open/update the GitHub issue when SAFE=false, close it when SAFE=true.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def report(cycle_id: str | None, publish_it: bool, as_json: bool) -> None:
    """Render (or re-render) a cycle's report from the blackboard."""
    settings = load_settings()
    setup_logging(False, settings.secrets())
    with opened(settings) as runtime:
        record = runtime.cycles.get(cycle_id) if cycle_id else next(
            (r for r in runtime.cycles.recent(50) if r.kind == "weekly"), None)
        if record is None:
            raise click.UsageError(f"no cycle {cycle_id}" if cycle_id else "no weekly cycle yet (run: improve run)")
        path, safe, published = write_cycle_report(runtime, record, publish_it=publish_it)
    lines = [f"Report: {path}", f"SAFE={'true' if safe else 'false'}", *describe_publications(published)]
    emit({"cycle_id": record.cycle_id, "safe": safe, "report_path": str(path), "published": published}, as_json,
         "\n".join(lines))


@main.command()
@click.option("-q", "--queues", default=",".join(QUEUES), show_default=True, help="Comma-separated queue names.")
@click.option("--name", default=None, help="Worker name (default: RQ's host.pid).")
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option("--with-scheduler", is_flag=True, help="Also run RQ's scheduler (retries with intervals).")
@click.option("-v", "--verbose", is_flag=True)
@handles_errors
def worker(queues: str, name: str | None, burst: bool, with_scheduler: bool, verbose: bool) -> None:
    """An RQ worker with the project's settings (plain `rq worker` works too)."""
    from workers.connection import from_url
    from workers.worker import CycleWorker, worker_options

    settings = load_settings()
    setup_logging(verbose, settings.secrets())
    if settings.redis_url is None:
        raise click.UsageError("improve worker needs REDIS_URL: workers share one Redis "
                               "(without it, `improve run` runs the steps in-process on the embedded default)")
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if unknown:
        raise click.UsageError(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}")
    connections = from_url(settings.redis_url.get_secret_value())
    rq_worker = CycleWorker(names, connection=connections.rq, name=name, **worker_options(settings.lease_seconds))
    err.print(f"worker {rq_worker.name} on {connections.description}, queues {', '.join(names)}", markup=False)
    rq_worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO" if verbose else "WARNING")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("-v", "--verbose", is_flag=True)
@handles_errors
def demo(as_json: bool, verbose: bool) -> None:
    """The sandbox world: stand-in upstreams on loopback, six weekly cycles a simulated week apart."""
    from workers.demo import run_demo

    settings = load_settings()
    setup_logging(verbose, settings.secrets())
    data, human = run_demo(settings)
    emit(data, as_json, human)


main.add_command(sync)
main.add_command(catalog)
main.add_command(versions)
main.add_command(select)
main.add_command(route)
main.add_command(research)
main.add_command(bench)
main.add_command(scheduler)
main.add_command(config)
main.add_command(proposals)
main.add_command(approve)
main.add_command(reject)
main.add_command(rollback)
main.add_command(serve)

if __name__ == "__main__":  # pragma: no cover
    main()
