"""The live configuration the product uses (models, rankings, routing, prompts, strategies), versioned in Redis.

Every version is kept (a body per version, written once), with a pointer to the current one and a history index. A
commit writes all three in one Lua script after checking the pointer: a process killed at any point leaves the config
old or new, and of two racing writers exactly one wins."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator, model_validator

from blackboard.clock import Clock
from blackboard.errors import BlackboardError, StoreUnavailable, TransitionConflict, UnknownRecord
from blackboard.keys import Keys

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


class StaleConfigVersion(TransitionConflict):
    """The live config is not at the expected version: someone else committed first."""

    def __init__(self, expected: int | None, current: int | None) -> None:
        super().__init__(f"the live config is at version {current}, not {expected}")
        self.expected, self.current = expected, current


class ConfigDecodeError(BlackboardError):
    """A stored config version does not parse, or the current pointer names a missing version."""


class ModelSpec(BaseModel):
    model_config = _FROZEN
    active: bool = True
    context_length: int | None = Field(default=None, ge=1)
    prices: dict[str, str] = Field(default_factory=dict)  # USD per token, decimal strings as OpenRouter gives them
    added_at: datetime | None = None

    @field_validator("prices")
    @classmethod
    def _decimal_prices(cls, prices: dict[str, str]) -> dict[str, str]:
        for key, value in prices.items():
            if not _DECIMAL.match(value):
                raise ValueError(f"price {key}={value!r} is not a decimal number")
        return prices


class CategorySpec(BaseModel):
    model_config = _FROZEN
    ranking: tuple[str, ...] = ()


class Route(BaseModel):
    model_config = _FROZEN
    primary: str = Field(min_length=1)
    fallbacks: tuple[str, ...] = ()


class StrategySpec(BaseModel):
    model_config = _FROZEN
    name: str = Field(min_length=1)
    params: dict[str, JsonValue] = Field(default_factory=dict)


class LiveConfig(BaseModel):
    """What the product routes by. Routes and rankings may only name models the config knows."""

    model_config = _FROZEN
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    categories: dict[str, CategorySpec] = Field(default_factory=dict)
    routing: dict[str, Route] = Field(default_factory=dict)
    prompts: dict[str, str] = Field(default_factory=dict)
    strategies: dict[str, StrategySpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_known_models(self) -> LiveConfig:
        lists = [(f"routing.{c}", (r.primary, *r.fallbacks)) for c, r in self.routing.items()]
        lists += [(f"categories.{c}.ranking", spec.ranking) for c, spec in self.categories.items()]
        for where, names in lists:
            unknown = [m for m in names if m not in self.models]
            if unknown:
                raise ValueError(f"{where} names unknown models: {', '.join(unknown)}")
            if len(set(names)) != len(names):
                raise ValueError(f"{where} lists a model twice (a primary and its fallbacks are all distinct)")
        return self

    def routed_models(self) -> frozenset[str]:
        """Models some routing rule depends on, as primary or fallback."""
        return frozenset(m for route in self.routing.values() for m in (route.primary, *route.fallbacks))

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ConfigChange(BaseModel):
    model_config = _FROZEN
    path: str
    old: JsonValue = None
    new: JsonValue = None


class ConfigVersion(BaseModel):
    model_config = _FROZEN
    version: int = Field(ge=1)
    parent: int | None = None
    created_at: datetime
    by: str
    reason: str
    proposal_id: str | None = None
    evidence: tuple[str, ...] = ()
    diff: tuple[ConfigChange, ...] = ()
    config: LiveConfig


_PLAIN_SEGMENT = re.compile(r"^[A-Za-z0-9_/:\-]+$")


def _join(path: str, key: str) -> str:
    segment = f".{key}" if _PLAIN_SEGMENT.match(key) else f"[{json.dumps(key)}]"
    return segment[1:] if not path and segment.startswith(".") else path + segment


def _walk(path: str, old: Any, new: Any, out: list[ConfigChange]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _walk(_join(path, key), old.get(key), new.get(key), out)
    elif old != new:
        out.append(ConfigChange(path=path, old=old, new=new))  # lists (rankings, fallbacks) change as a whole


def diff(a: LiveConfig | None, b: LiveConfig) -> list[ConfigChange]:
    """Changes from ``a`` to ``b`` over their JSON form, by dotted path (``routing.coding.primary``); a key whose
    name is not a plain word is quoted (``models["openai/gpt-4.1"].active``)."""
    out: list[ConfigChange] = []
    _walk("", a.as_json() if a is not None else {}, b.as_json(), out)
    return out


# KEYS: current pointer, history index, the new version's body. ARGV: expected pointer ('' for none), new number, body.
_COMMIT = """
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return {0, current} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {-1, current} end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
return {1, ARGV[2]}
"""


@contextmanager
def _reachable(what: str) -> Iterator[None]:
    try:
        yield
    except redis.ConnectionError as exc:
        raise StoreUnavailable(f"could not {what}: {exc}") from exc


class ConfigStore:
    """Reads and commits live-config versions on a ``decode_responses=True`` client (real Redis or fakeredis)."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None, clock: Clock | None = None) -> None:
        self.client = client
        self.keys = keys or Keys()
        self.clock = clock or Clock()
        self._commit = client.register_script(_COMMIT)

    def _decode(self, version: int, body: Any) -> ConfigVersion:
        try:
            stored = ConfigVersion.model_validate_json(str(body))
        except ValidationError as exc:
            raise ConfigDecodeError(f"config version {version} does not parse: {exc}") from exc
        if stored.version != version:
            raise ConfigDecodeError(f"config version {version} holds version {stored.version}")
        return stored

    def get(self, version: int) -> ConfigVersion | None:
        with _reachable(f"read config version {version}"):
            body = self.client.get(self.keys.config_version(version))
        return self._decode(version, body) if body is not None else None

    def current(self) -> ConfigVersion | None:
        with _reachable("read the current config version"):
            pointer = self.client.get(self.keys.config_current())
        if pointer is None:
            return None
        found = self.get(number := int(str(pointer)))
        if found is None:
            raise ConfigDecodeError(f"the current pointer names version {number}, which is not stored")
        return found

    def history(self, limit: int = 30) -> list[ConfigVersion]:
        """The last ``limit`` versions, newest first."""
        if limit <= 0:
            return []
        with _reachable("read the config history"):
            numbers = [int(str(n)) for n in self.client.zrevrange(self.keys.config_history(), 0, limit - 1)]
            pipe = self.client.pipeline(transaction=False)
            for number in numbers:
                pipe.get(self.keys.config_version(number))
            bodies = pipe.execute()
        return [self._decode(n, body) for n, body in zip(numbers, bodies, strict=True) if body is not None]

    def commit(self, config: LiveConfig, *, expected_version: int | None, by: str, reason: str,
               proposal_id: str | None = None, evidence: Sequence[str] = ()) -> ConfigVersion:
        """Make ``config`` the next version if the current one is ``expected_version`` (None: no version yet).
        A config identical to the current one changes nothing and returns the current version, so a retried job
        makes no empty versions. Raises StaleConfigVersion when someone else committed first.
        """
        current = self.current()
        if current is not None and current.config.as_json() == config.as_json():
            return current
        parent = None
        if expected_version is not None:  # the parent's config, for the diff: normally the current one
            parent = current if current and current.version == expected_version else self.get(expected_version)
            if parent is None:
                raise StaleConfigVersion(expected_version, current.version if current else None)
        number = (expected_version or 0) + 1
        created = ConfigVersion(version=number, parent=expected_version, created_at=self.clock.now(), by=by,
                                reason=reason, proposal_id=proposal_id, evidence=tuple(evidence),
                                diff=tuple(diff(parent.config if parent else None, config)), config=config)
        keys = [self.keys.config_current(), self.keys.config_history(), self.keys.config_version(number)]
        with _reachable(f"commit config version {number}"):
            outcome, pointer = self._commit(
                keys=keys, args=["" if expected_version is None else str(expected_version), str(number),
                                 created.model_dump_json()])
        if int(outcome) == 0:
            raise StaleConfigVersion(expected_version, int(pointer) if pointer else None)
        if int(outcome) == -1:
            raise ConfigDecodeError(f"version {number} is already stored while the pointer says {pointer}")
        return created

    def seed(self, config: LiveConfig, by: str, reason: str = "initial configuration") -> ConfigVersion:
        """Create version 1 unless a version exists; either way return the current version."""
        current = self.current()
        if current is not None:
            return current
        try:
            return self.commit(config, expected_version=None, by=by, reason=reason)
        except StaleConfigVersion:
            seeded = self.current()
            assert seeded is not None
            return seeded

    def rollback(self, to_version: int, *, by: str, reason: str, expected_version: int | None = None,
                 proposal_id: str | None = None, evidence: Sequence[str] = ()) -> ConfigVersion:
        """A new version whose config is ``to_version``'s, committed against ``expected_version`` (default: the
        current version as read now). Nothing changes if the current config already equals it."""
        target = self.get(to_version)
        if target is None:
            raise UnknownRecord(f"no config version {to_version}")
        if expected_version is None:
            expected_version = (self.current() or target).version
        return self.commit(target.config, expected_version=expected_version, by=by, proposal_id=proposal_id,
                           reason=f"rollback from v{expected_version} to v{to_version}: {reason}", evidence=evidence)

    def diff_versions(self, v1: int, v2: int) -> list[ConfigChange]:
        first, second = self.get(v1), self.get(v2)
        if first is None or second is None:
            raise UnknownRecord(f"no config version {v1 if first is None else v2}")
        return diff(first.config, second.config)

    def export(self, version: int | None, path: Path | str) -> Path:
        """Write a version (None: the current one) for the orchestrator to read; see write_config_file."""
        found = self.current() if version is None else self.get(version)
        if found is None:
            raise UnknownRecord("no config version to export" if version is None else f"no config version {version}")
        return write_config_file(found, path)


def write_config_file(version: ConfigVersion, path: Path | str) -> Path:
    """Write ``{version, created_at, config}`` as JSON atomically: a temp file in the same folder, fsync, rename.
    A reader sees the old file or the new one, never part of one; a failed write leaves the old file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    document = {"version": version.version, "created_at": version.created_at.isoformat(),
                "config": version.config.as_json()}
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temp:
            os.fchmod(temp.fileno(), 0o644)  # mkstemp makes it private; the orchestrator may run as another user
            json.dump(document, temp, indent=2, sort_keys=True)
            temp.write("\n")
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # make the rename itself durable
    finally:
        os.close(folder)
    return target
