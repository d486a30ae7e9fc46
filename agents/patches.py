"""Config patches: small JSON-shaped changes to a LiveConfig, applied all or none, idempotent, and undoable.

A patch is a sequence of ops, each a plain JSON object (``{"op": "set_route", ...}``), so it survives a trip through
a Proposal entry. Ops that replace something name what they expect to find: a patch planned against an older
config raises PatchConflict instead of overwriting what someone changed since, and the caller re-plans.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from blackboard.live_config import LiveConfig, ModelSpec, Route, StrategySpec

Op = Mapping[str, Any]
Data = dict[str, Any]
_MODEL_FIELDS = frozenset({"prices", "context_length", "active"})
# op -> (required keys, optional keys), besides "op" itself
OPS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "add_model": (frozenset({"model", "spec"}), frozenset()),
    "update_model": (frozenset({"model", "set"}), frozenset({"expect"})),
    "deactivate": (frozenset({"model"}), frozenset()),
    "set_route": (frozenset({"category", "expect", "route"}), frozenset()),
    "set_ranking": (frozenset({"category", "ranking"}), frozenset()),
    "set_prompt": (frozenset({"category", "expect", "template"}), frozenset()),
    "set_strategy": (frozenset({"category", "expect", "strategy"}), frozenset()),
}
SECTIONS = ("models", "categories", "routing", "prompts", "strategies")


class PatchConflict(ValueError):
    """The config does not hold what a patch expects (someone changed it since the plan): re-plan, never force."""

    def __init__(self, message: str, *, index: int | None = None, op: str | None = None) -> None:
        where = f"patch op {index} ({op}): " if index is not None else ""
        super().__init__(where + message)
        self.index, self.op = index, op


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def _as_json(kind: type[BaseModel], value: Any, what: str) -> Any:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be an object, not {type(value).__name__}")
    try:
        return kind.model_validate(dict(value)).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or what}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{what} is invalid: {problems}") from None


def _check_model_fields(values: Any, what: str) -> None:
    if not isinstance(values, Mapping) or not values:
        raise ValueError(f"'{what}' must be a non-empty object")
    unknown = set(values) - _MODEL_FIELDS
    if unknown:
        raise ValueError(f"'{what}' may only hold {', '.join(sorted(_MODEL_FIELDS))}, not {', '.join(sorted(unknown))}")
    prices = values.get("prices", {})
    if not isinstance(prices, Mapping) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                                  for k, v in prices.items()):
        raise ValueError(f"'{what}.prices' must map price names to decimal strings (or null to drop one)")
    _as_json(ModelSpec, {"prices": {k: v for k, v in prices.items() if v is not None}}, f"'{what}'")
    length = values.get("context_length")
    if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 1):
        raise ValueError(f"'{what}.context_length' must be a positive integer or null, not {length!r}")
    if "active" in values and not isinstance(values["active"], bool):
        raise ValueError(f"'{what}.active' must be true or false")


def _check_op(op: Any) -> None:
    if not isinstance(op, Mapping):
        raise ValueError(f"an op must be an object, not {type(op).__name__}")
    name = op.get("op")
    if name not in OPS:
        raise ValueError(f"unknown op {name!r} (known: {', '.join(OPS)})")
    required, optional = OPS[name]
    missing, unknown = required - set(op), set(op) - required - optional - {"op"}
    if missing or unknown:
        raise ValueError("; ".join([f"missing {', '.join(sorted(missing))}"] * bool(missing)
                                   + [f"unknown keys {', '.join(sorted(unknown))}"] * bool(unknown)))
    for key in ("model", "category"):
        if key in required and (not isinstance(op[key], str) or not op[key]):
            raise ValueError(f"'{key}' must be a non-empty string")
    if name == "add_model":
        _as_json(ModelSpec, op["spec"], "'spec'")
    elif name == "update_model":
        _check_model_fields(op["set"], "set")
        if "expect" in op:
            _check_model_fields(op["expect"], "expect")
            if set(op["expect"]) != set(op["set"]) or set(op["expect"].get("prices", {})) != set(
                    op["set"].get("prices", {})):
                raise ValueError("'expect' must name the same fields as 'set'")
    elif name == "set_route":
        _as_json(Route, op["route"], "'route'")
        if op["expect"] is not None:
            _as_json(Route, op["expect"], "'expect'")
    elif name == "set_ranking":
        ranking = op["ranking"]
        if isinstance(ranking, str) or not isinstance(ranking, Sequence) or not all(isinstance(m, str)
                                                                                      for m in ranking):
            raise ValueError("'ranking' must be a list of model ids")
    elif name == "set_prompt":
        if not isinstance(op["template"], str) or not (op["expect"] is None or isinstance(op["expect"], str)):
            raise ValueError("'template' must be a string and 'expect' a string or null")
    elif name == "set_strategy":
        _as_json(StrategySpec, op["strategy"], "'strategy'")
        if op["expect"] is not None:
            _as_json(StrategySpec, op["expect"], "'expect'")


def validate_patch(patch: Sequence[Op]) -> None:
    """Raise ValueError naming the first op whose shape is wrong; says nothing about any config."""
    if isinstance(patch, (str, bytes, Mapping)) or not isinstance(patch, Sequence):
        raise ValueError("a patch must be a list of ops")
    for index, op in enumerate(patch):
        try:
            _check_op(op)
        except ValueError as exc:
            name = op.get("op") if isinstance(op, Mapping) else None
            raise ValueError(f"patch op {index}" + (f" ({name})" if isinstance(name, str) else "") + f": {exc}") \
                from None


def _routes_naming(data: Data, model: str) -> list[str]:
    return sorted(c for c, r in data["routing"].items() if model == r["primary"] or model in r["fallbacks"])


def _model(data: Data, model: str) -> Data:
    if model not in data["models"]:
        raise PatchConflict(f"model {model} is not in the config")
    spec: Data = data["models"][model]
    return spec


def _add_model(data: Data, op: Op) -> None:
    spec, present = _as_json(ModelSpec, op["spec"], "spec"), data["models"].get(op["model"])
    if present is not None and present != spec:
        raise PatchConflict(f"model {op['model']} is already in the config with another spec: {_short(present)}")
    data["models"][op["model"]] = spec


def _model_view(spec: Data, fields: Mapping[str, Any]) -> Data:
    view = {key: spec[key] for key in fields if key != "prices"}
    if "prices" in fields:
        view["prices"] = {key: spec["prices"].get(key) for key in fields["prices"]}
    return view


def _update_model(data: Data, op: Op) -> None:
    spec, wanted = _model(data, op["model"]), dict(op["set"])
    current = _model_view(spec, wanted)
    if "expect" in op and current != dict(op["expect"]) and current != wanted:
        raise PatchConflict(f"model {op['model']} holds {_short(current)}, not the expected {_short(op['expect'])}")
    if wanted.get("active") is False and (routes := _routes_naming(data, op["model"])):
        raise PatchConflict(f"model {op['model']} is routed in {', '.join(routes)}: re-route it first")
    for key, value in wanted.get("prices", {}).items():
        if value is None:
            spec["prices"].pop(key, None)
        else:
            spec["prices"][key] = value
    spec.update({key: value for key, value in wanted.items() if key != "prices"})


def _deactivate(data: Data, op: Op) -> None:
    spec = _model(data, op["model"])
    routes = _routes_naming(data, op["model"])
    if routes:
        raise PatchConflict(f"model {op['model']} is routed in {', '.join(routes)}: re-route it first")
    spec["active"] = False


def _set_route(data: Data, op: Op) -> None:
    category, current = op["category"], data["routing"].get(op["category"])
    route = _as_json(Route, op["route"], "route")
    expect = None if op["expect"] is None else _as_json(Route, op["expect"], "expect")
    if current == route:
        return
    if current != expect:
        raise PatchConflict(f"routing.{category} is {_short(current)}, not the expected {_short(expect)}")
    before = set() if current is None else {current["primary"], *current["fallbacks"]}
    for model in [route["primary"], *route["fallbacks"]]:
        if model not in before and not _model(data, model)["active"]:
            raise PatchConflict(f"model {model} is inactive and cannot join routing.{category}")
    data["routing"][category] = route


def _set_ranking(data: Data, op: Op) -> None:
    ranking = [m for m in dict.fromkeys(op["ranking"]) if m in data["models"]]  # unknown models are dropped
    data["categories"].setdefault(op["category"], {})["ranking"] = ranking


def _set_text(section: str, key: str, normalise: Callable[[Any], Any]) -> Callable[[Data, Op], None]:
    def apply(data: Data, op: Op) -> None:
        category, current = op["category"], data[section].get(op["category"])
        wanted = normalise(op[key])
        expect = None if op["expect"] is None else normalise(op["expect"])
        if current == wanted:
            return
        if current != expect:
            raise PatchConflict(f"{section}.{category} is {_short(current)}, not the expected {_short(expect)}")
        data[section][category] = wanted
    return apply


_APPLY: dict[str, Callable[[Data, Op], None]] = {
    "add_model": _add_model, "update_model": _update_model, "deactivate": _deactivate, "set_route": _set_route,
    "set_ranking": _set_ranking, "set_prompt": _set_text("prompts", "template", str),
    "set_strategy": _set_text("strategies", "strategy", lambda s: _as_json(StrategySpec, s, "strategy")),
}


def _validated(data: Data, what: str) -> LiveConfig:
    try:
        return LiveConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise PatchConflict(f"{what} would leave an invalid config: {problems}") from None


def apply_patch(config: LiveConfig, patch: Sequence[Op]) -> LiveConfig:
    """The config with every op applied in order, or PatchConflict (nothing applied). Applying twice is once."""
    validate_patch(patch)
    data = config.as_json()
    for index, op in enumerate(patch):
        try:
            _APPLY[op["op"]](data, op)
        except PatchConflict as exc:
            raise PatchConflict(str(exc), index=index, op=op["op"]) from None
    return _validated(data, "the patch")


def revert(current: LiveConfig, before: LiveConfig, after: LiveConfig) -> LiveConfig:
    """Undo the change from ``before`` to ``after`` on top of ``current``, entry by entry (a model spec, a category,
    a route, a prompt, a strategy), keeping later unrelated changes. An entry that no longer holds ``after``'s value
    raises PatchConflict; one already back at ``before``'s value is left alone."""
    now, old, new = current.as_json(), before.as_json(), after.as_json()
    conflicts = []
    for section in SECTIONS:
        for key in sorted(set(old[section]) | set(new[section])):
            was, became, found = old[section].get(key), new[section].get(key), now[section].get(key)
            if was == became or found == was:
                continue
            if found != became:
                conflicts.append(f"{section}[{key}] changed since: expected {_short(became)}, found {_short(found)}")
            elif was is None:
                del now[section][key]
            else:
                now[section][key] = was
    if conflicts:
        raise PatchConflict("cannot revert: " + "; ".join(conflicts), op="revert")
    return _validated(now, "the revert")


def touched(patch: Sequence[Op]) -> dict[str, list[str]]:
    """What verification looks at: models a patch newly puts into a route, and the categories whose route it sets."""
    validate_patch(patch)
    routed: set[str] = set()
    categories: set[str] = set()
    for op in patch:
        if op["op"] == "set_route":
            before = set() if op["expect"] is None else {op["expect"]["primary"], *op["expect"].get("fallbacks", ())}
            routed |= {op["route"]["primary"], *op["route"].get("fallbacks", ())} - before
            categories.add(op["category"])
    return {"routed_models": sorted(routed), "categories": sorted(categories)}
