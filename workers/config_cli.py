"""`improve config ...`, `improve proposals`, `improve approve`, `improve reject`, `improve rollback`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from blackboard.entries import ProposalStatus, RolledBack
from blackboard.errors import TransitionError, UnknownRecord
from workers.console import emit, handles_errors, load_settings

STATUSES = [s.value for s in ProposalStatus]


def _version_json(version: Any, results: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data = {"version": version.version, "parent": version.parent, "created_at": version.created_at.isoformat(),
            "by": version.by, "reason": version.reason, "proposal_id": version.proposal_id,
            "changes": len(version.diff)}
    if results is not None:
        data["benchmark"] = results
    return data


@click.group()
def config() -> None:
    """The live configuration: what the product routes by, versioned."""


@config.command("show")
@click.option("--version", "number", type=int, default=None, help="A past version (default: the current one).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def show(number: int | None, as_json: bool) -> None:
    """The configuration: routing per category, models, prompts and strategies."""
    from workers.configuration import store_of
    from workers.runtime import opened

    with opened(load_settings()) as runtime:
        store = store_of(runtime)
        version = store.get(number) if number else store.current()
    if version is None:
        raise click.UsageError(f"no version {number}" if number else "no live configuration yet (run: improve run)")
    routes = [f"  {c}: {r.primary}" + (f" (then {', '.join(r.fallbacks)})" if r.fallbacks else "")
              for c, r in sorted(version.config.routing.items())]
    active = sum(spec.active for spec in version.config.models.values())
    human = "\n".join([f"version {version.version} ({version.created_at:%Y-%m-%d %H:%M} UTC, by {version.by}): "
                       f"{version.reason}", "routing:", *(routes or ["  none"]),
                       f"models: {len(version.config.models)} ({active} active); prompts: "
                       f"{len(version.config.prompts)}; strategies: {len(version.config.strategies)}"])
    emit({**_version_json(version), "config": version.config.as_json()}, as_json, human)


@config.command("history")
@click.option("--limit", default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def history(limit: int, as_json: bool) -> None:
    """Versions newest first, each with its parent, who made it, why and the proposal it applied."""
    from workers.configuration import store_of, upgrade_results
    from workers.runtime import opened

    with opened(load_settings()) as runtime:
        versions = store_of(runtime).history(limit)
        results = {v.version: upgrade_results(runtime, v) for v in versions}
    lines = []
    for v in versions:
        lines.append(f"v{v.version:<4} {v.created_at:%Y-%m-%d %H:%M}  {v.by:<14} {v.reason}"
                     + (f"  [{v.proposal_id}]" if v.proposal_id else ""))
        lines += [f"       {r['category']}: {r['before']} {_shown(r['before_score'])} -> {r['after']} "
                  f"{_shown(r['after_score'])}" for r in results[v.version]]
    emit({"versions": [_version_json(v, results[v.version]) for v in versions]}, as_json,
         "\n".join(lines) or "no versions yet")


def _shown(score: float | None) -> str:
    return "(not measured)" if score is None else f"({score:.3f})"


@config.command("diff")
@click.argument("first", type=int)
@click.argument("second", type=int)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def diff(first: int, second: int, as_json: bool) -> None:
    """What changed from version FIRST to version SECOND."""
    from workers.configuration import store_of
    from workers.runtime import opened

    with opened(load_settings()) as runtime:
        store = store_of(runtime)
        if store.get(first) is None or store.get(second) is None:
            raise click.UsageError(f"no version {first if store.get(first) is None else second}")
        changes = store.diff_versions(first, second)
    lines = [f"{c.path}: {json.dumps(c.old)} -> {json.dumps(c.new)}" for c in changes]
    emit({"from": first, "to": second, "changes": [c.model_dump(mode="json") for c in changes]}, as_json,
         "\n".join(lines) or "no differences")


@config.command("export")
@click.option("--path", "path", type=click.Path(path_type=Path), default=None,
              help="Where to write it (default: IMPROVE_CONFIG_EXPORT, else IMPROVE_STATE_DIR/live-config.json).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def export(path: Path | None, as_json: bool) -> None:
    """Write the current version as JSON, atomically (written beside, then renamed)."""
    from workers.configuration import store_of
    from workers.runtime import opened

    settings = load_settings()
    with opened(settings) as runtime:
        store = store_of(runtime)
        current = store.current()
        if current is None:
            raise click.UsageError("no live configuration yet (run: improve run)")
        written = store.export(None, path or settings.export_path)
    emit({"version": current.version, "path": str(written)}, as_json, f"version {current.version} -> {written}")


@click.command()
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only proposals in this status.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def proposals(status: str | None, as_json: bool) -> None:
    """Proposals with their risk, status, target, reason and evidence (default: every open one)."""
    from workers.decisions import listed
    from workers.runtime import opened

    with opened(load_settings()) as runtime:
        found = listed(runtime, [ProposalStatus(status)] if status else None)
    lines = [f"{p['risk']:<6} {p['status']:<13} {p['id']}\n       {p['title']}" for p in found]
    emit({"proposals": found}, as_json, "\n".join(lines) or "no proposals")


def _decide(proposal_id: str, by: str, note: str, approve: bool, apply_now: bool, as_json: bool) -> None:
    from workers.decisions import decide
    from workers.runtime import opened

    if not by.strip():
        raise click.UsageError("--by needs a name: who decided")
    with opened(load_settings()) as runtime:
        try:
            data = decide(runtime, proposal_id, by, note, approve, apply_now)
        except (UnknownRecord, TransitionError) as exc:
            raise click.UsageError(str(exc)) from exc
    version = data["config_version"]
    emit(data, as_json, f"{proposal_id}: {data['status']} by {by}"
         + (f" (configuration version {version})" if version else ""))


@click.command()
@click.argument("proposal_id")
@click.option("--by", required=True, help="Who approves (recorded).")
@click.option("--note", default="", help="Why (recorded).")
@click.option("--apply-now", is_flag=True, help="Apply it now instead of at the next upgrade step.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def approve(proposal_id: str, by: str, note: str, apply_now: bool, as_json: bool) -> None:
    """Approve a gated proposal; the next upgrade step applies it (or --apply-now)."""
    _decide(proposal_id, by, note, True, apply_now, as_json)


@click.command()
@click.argument("proposal_id")
@click.option("--by", required=True, help="Who rejects (recorded).")
@click.option("--reason", required=True, help="Why (recorded; it stays rejected until the change differs).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def reject(proposal_id: str, by: str, reason: str, as_json: bool) -> None:
    """Reject a proposal; the same change proposed again stays rejected."""
    _decide(proposal_id, by, reason, False, False, as_json)


@click.command()
@click.option("--to", "to_version", type=int, default=None, help="The version to go back to (default: the parent).")
@click.option("--by", required=True, help="Who rolls back (recorded).")
@click.option("--reason", default="rolled back by hand", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def rollback(to_version: int | None, by: str, reason: str, as_json: bool) -> None:
    """Go back to an earlier configuration; the rollback is itself a new version."""
    from workers.configuration import export_current, store_of
    from workers.runtime import opened
    from workers.trigger import cycle_id_for
    from workers.upgrade import UpgradeLock

    with opened(load_settings()) as runtime:
        store = store_of(runtime)
        current = store.current()
        if current is None:
            raise click.UsageError("no live configuration yet")
        target = to_version or current.parent
        if target is None or store.get(target) is None:
            raise click.UsageError(f"no version {target} to roll back to" if target else "version 1 has no parent")
        with UpgradeLock(runtime):
            made = store.rollback(target, by=by, reason=reason, expected_version=current.version)
            export_current(runtime)
        runtime.board.post(RolledBack(cycle_id=cycle_id_for(runtime, "weekly", dry_run=False), agent="person",
                                      created_at=runtime.clock.now(), proposal_id=None, from_version=current.version,
                                      to_version=made.version, by=by, reason=f"to version {target}: {reason}"))
    emit({"version": target, "status": "rolled_back", "by": by, "config_version": made.version}, as_json,
         f"configuration back at version {target}'s content as version {made.version} (by {by})")
