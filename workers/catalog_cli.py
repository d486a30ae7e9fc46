"""`improve sync` and `improve catalog`: the model catalog by hand."""

from __future__ import annotations

from typing import Any

import click

from blackboard.snapshots import Snapshot, SnapshotBook
from workers.console import emit, handles_errors, load_settings, setup_logging
from workers.runtime import opened


def _stored(*sources: str) -> tuple[dict[str, Snapshot | None], dict[str, dict[str, Any]]]:
    """The stored snapshots of some sources and the catalog's tombstones; a usage error before the first sync."""
    settings = load_settings()
    setup_logging(False, settings.secrets())
    with opened(settings) as runtime:
        book = SnapshotBook(runtime.connections.board, runtime.keys)
        found = {source: book.load(source) for source in sources}
        graves = book.tombstones("openrouter")
    if found.get("openrouter", True) is None:
        raise click.UsageError("no catalog yet (run: improve sync)")
    return found, graves


@click.command()
@click.option("--quick", is_flag=True, help="Only the health of the routed models (OpenRouter endpoints).")
@click.option("--json", "as_json", is_flag=True)
@click.option("-v", "--verbose", is_flag=True)
@handles_errors
def sync(quick: bool, as_json: bool, verbose: bool) -> None:
    """Sync the model catalog now (its changes count towards this week's, or this quick period's, cycle)."""
    from workers.catalog_sync import full_sync, quick_sync
    from workers.trigger import cycle_id_for

    settings = load_settings()
    setup_logging(verbose, settings.secrets())
    with opened(settings) as runtime:
        cycle_id = cycle_id_for(runtime, "quick" if quick else "weekly", dry_run=False)
        outcome = (quick_sync if quick else full_sync)(runtime, cycle_id, "sync")
    data = {"cycle_id": cycle_id, **outcome.to_json()}
    human = [f"catalog sync for {cycle_id}: {outcome.models} models, {outcome.changes} changes"
             + (" (REJECTED: last good snapshot kept)" if outcome.rejected else "")]
    human += [f"  {label}: {', '.join(ids[:10])}{' …' if len(ids) > 10 else ''}" for label, ids in
              (("added", outcome.added), ("removed", outcome.removed), ("repriced", outcome.repriced)) if ids]
    human += [f"  error: {error}" for error in outcome.errors]
    emit(data, as_json, "\n".join(human))


@click.group()
def catalog() -> None:
    """The last good model catalog."""


@catalog.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--search", default="", help="Only ids containing this text.")
@handles_errors
def catalog_list(as_json: bool, search: str) -> None:
    from agents.catalog import SOURCE, summary

    snapshot = _stored(SOURCE)[0][SOURCE]
    assert snapshot is not None
    models = [{"id": model_id, **summary(model)} for model_id, model in sorted(snapshot.models.items())
              if search.lower() in model_id.lower()]
    human = [f"{len(models)} models (fetched {snapshot.fetched_at:%Y-%m-%d %H:%M} UTC, cycle {snapshot.cycle_id})"]
    human += [f"  {m['id']:<50} {m['context_length']!s:>8}  {m['pricing']['prompt']:>12} "
              f"{m['pricing']['completion']:>12}" for m in models]
    emit({"source": SOURCE, "fetched_at": snapshot.fetched_at.isoformat(), "cycle_id": snapshot.cycle_id,
          "models": models}, as_json, "\n".join(human))


@catalog.command("show")
@click.argument("model_id")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def catalog_show(model_id: str, as_json: bool) -> None:
    import json as json_module

    from agents.catalog import SOURCE

    found, graves = _stored(SOURCE, "scores")
    snapshot, scores = found[SOURCE], found["scores"]
    model = snapshot.models.get(model_id) if snapshot else None
    grave = graves.get(model_id)
    if model is None and grave is None:
        raise click.UsageError(f"no model {model_id!r} in the catalog")
    data = {"id": model_id, "status": "active" if model is not None else "removed",
            "model": model if model is not None else grave["model"],  # type: ignore[index]
            "removed_at": None if model is not None else grave["removed_at"],  # type: ignore[index]
            "score": scores.models.get(model_id) if scores else None}
    emit(data, as_json, json_module.dumps(data, indent=2, default=str))


@click.command()
@click.argument("family")
@click.option("--compare", nargs=2, default=None, metavar="A B",
              help="Compare two models on our benchmark, category by category (latest valid scores).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def versions(family: str, compare: tuple[str, str] | None, as_json: bool) -> None:
    """A model family's versions in the catalog, oldest first (FAMILY like google/gemma or meta-llama/llama)."""
    from agents.catalog import SOURCE
    from agents.families import history

    snapshot = _stored(SOURCE)[0][SOURCE]
    assert snapshot is not None
    found = history({model_id: model.get("created") for model_id, model in snapshot.models.items()}, family)
    human = [f"{family}: {len(found)} models"] + [
        f"  v{item['version'] or '?':<8} {item['size'] or '-':<8} {item['variant'] or '-':<16} {item['id']}"
        for item in found]
    data: dict[str, object] = {"family": family, "versions": found}
    if compare:
        from workers.configuration import scores
        from workers.runtime import opened

        with opened(load_settings()) as runtime:
            known = scores(runtime)
        first, second = (known.get(model, {}) for model in compare)
        rows = {category: {"a": first.get(category), "b": second.get(category)}
                for category in sorted(set(first) | set(second))}
        data["compare"] = {"a": compare[0], "b": compare[1], "categories": rows}
        human.append(f"our benchmark: {compare[0]} vs {compare[1]}")
        human += [f"  {category:<18} {_score(row['a'])} vs {_score(row['b'])}" for category, row in rows.items()]
        if not rows:
            human.append("  no benchmark results for either model in the last four weeks")
    emit(data, as_json, "\n".join(human))


def _score(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


@click.command()
@click.option("--task", required=True, help="A pipeline tag (text-generation, translation, ...) or code.")
@click.option("--hardware", type=click.Choice(["cpu-small", "cpu-medium", "cpu-large", "gpu-small", "gpu-medium",
                                               "gpu-large"]), default=None)
@click.option("--max-size", "max_size", type=float, default=None, help="Largest model size in MB.")
@click.option("--framework", type=click.Choice(["pytorch", "tensorflow", "jax"]), default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def select(task: str, hardware: str | None, max_size: float | None, framework: str | None, as_json: bool) -> None:
    """Ranked models for a task on given hardware, with reasons, and which source answered."""
    from workers.selection import select as choose

    settings = load_settings()
    setup_logging(False, settings.secrets())
    with opened(settings) as runtime:
        chosen = choose(runtime, task, hardware, max_size, framework)
    human = [f"{task}: answered by {chosen.answered_by}"] + [f"  note: {n}" for n in chosen.notes]
    human += [f"  {c.score:5.1f}  {c.model_id:<60} {'; '.join(c.reasons[1:])}" for c in chosen.candidates]
    emit(chosen.to_json(), as_json, "\n".join(human))


@click.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def route(text: str, as_json: bool) -> None:
    """Which capability a task text maps to, and the primary model and fallbacks routing holds for it."""
    from agents.categories import intent
    from workers.configuration import store_of
    from workers.runtime import opened

    settings = load_settings()
    found = intent(text, settings.intents)
    with opened(settings) as runtime:
        current = store_of(runtime).current()
    if current is not None:
        live = current.config.routing.get(found.category or "")
        chain = [live.primary, *live.fallbacks] if live else []
        source = f"the live configuration, version {current.version}"
    else:
        chain, source = settings.routing.get(found.category or "", []), "IMPROVE_ROUTING (no live configuration yet)"
    data = {"text": text, "category": found.category, "matched": found.matched,
            "primary": chain[0] if chain else None, "fallbacks": chain[1:], "routing_source": source}
    human = (f"{found.category or 'no category'} (matched: {', '.join(found.matched) or 'nothing'})\n"
             f"primary: {data['primary'] or 'none configured'}; fallbacks: {', '.join(chain[1:]) or 'none'}")
    emit(data, as_json, human)


@click.command()
@click.option("--since", default=None, help="Scan arXiv from this date (ISO 8601) instead of the watermark.")
@click.option("--json", "as_json", is_flag=True)
@click.option("-v", "--verbose", is_flag=True)
@handles_errors
def research(since: str | None, as_json: bool, verbose: bool) -> None:
    """Scan arXiv, the lab feeds and Hub releases now; findings count towards this week's cycle."""
    from blackboard.clock import parse_instant
    from workers.research_scan import scan_and_summarise
    from workers.trigger import cycle_id_for

    settings = load_settings()
    setup_logging(verbose, settings.secrets())
    with opened(settings) as runtime:
        cycle_id = cycle_id_for(runtime, "weekly", dry_run=False)
        outcome, path = scan_and_summarise(runtime, cycle_id, "research", f"{runtime.clock.now():%Y-%m-%d}",
                                           parse_instant(since) if since else None)
    data = {"cycle_id": cycle_id, **outcome.to_json(), "summary_path": str(path)}
    human = [f"research scan for {cycle_id}: {outcome.new} new, {outcome.updated} updated, "
             f"{outcome.duplicates_merged} duplicates merged, {outcome.proposals} proposals; summary: {path}"]
    human += [f"  {source}: {result}" for source, result in outcome.sources.items()]
    emit(data, as_json, "\n".join(human))
