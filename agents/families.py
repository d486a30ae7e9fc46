"""Model families and versions, parsed from ids such as ``meta-llama/llama-3.3-70b-instruct``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

TIERS = ("nano", "micro", "mini", "lite", "small", "flash", "haiku", "medium", "sonnet", "turbo", "plus", "pro",
         "large", "opus", "max", "ultra")
_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([bmk])$", re.IGNORECASE)
_ACTIVE = re.compile(r"^a\d+(?:\.\d+)?b$", re.IGNORECASE)
_GLUED = re.compile(r"^([a-z]+)(\d+(?:\.\d+)*)([a-z]*)$")  # qwen3, qwen2.5, gpt4o
_DATE = re.compile(r"^(\d{4}|\d{6}|\d{8})$")
_SUFFIXED = re.compile(r"^(\d+(?:\.\d+)*)([a-z]+)$")  # 4o


@dataclass(frozen=True)
class ModelName:
    model_id: str
    provider: str
    family: str
    version: tuple[int, ...]
    size: str
    variant: str

    @property
    def family_key(self) -> str:
        return f"{self.provider}/{self.family}"

    @property
    def size_class(self) -> str:
        """Parameters in billions rounded to a class, or the tier word (mini, pro, ...), or "" when unknown."""
        match = _SIZE.match(self.size)
        if not match:
            return self.size
        billions = float(match[1]) / (1000 if match[2].lower() == "m" else 1)
        for bound, label in ((2, "tiny"), (10, "small"), (40, "medium"), (100, "large")):
            if billions <= bound:
                return label
        return "huge"

    @property
    def version_text(self) -> str:
        return ".".join(str(part) for part in self.version)


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def parse(model_id: str) -> ModelName:
    """Words before the version name the product line (``mistral-small``, ``claude-sonnet``); after it, a tier word
    or a parameter count is the size, and the rest is the variant (``instruct``, ``it``, ``vl``, a date)."""
    provider, _, name = model_id.partition("/")
    name, _, tag = name.partition(":")
    family: list[str] = []
    version: tuple[int, ...] = ()
    size = ""
    rest: list[str] = []
    for token in name.lower().split("-"):
        if _ACTIVE.match(token):
            continue  # active parameters of a mixture of experts: the size is the total
        if not version and not _DATE.match(token):
            glued, suffixed = _GLUED.match(token), _SUFFIXED.match(token)
            if _VERSION.match(token) and family:
                version = _numbers(_VERSION.match(token)[1])  # type: ignore[index]
                continue
            if glued and not _SIZE.match(token):
                family.append(glued[1])
                version = _numbers(glued[2])
                rest += [glued[3]] if glued[3] else []
                continue
            if suffixed and family and not _SIZE.match(token):
                version = _numbers(suffixed[1])
                rest.append(suffixed[2])
                continue
            if token.isalpha() and not rest and not size:
                family.append(token)
                continue
        if not size and (_SIZE.match(token) or token in TIERS):
            size = token
        else:
            rest.append(token)
    variant = "-".join(rest + ([tag] if tag else []))
    return ModelName(model_id, provider, "-".join(family) or name, version, size, variant)


def upgrade_candidates(routed: Iterable[str], catalog: Iterable[str]) -> list[tuple[str, str]]:
    """(routed, newer) pairs: a newer version of a routed model's family, same size class and variant."""
    names = [parse(model_id) for model_id in catalog]
    pairs = []
    for model_id in routed:
        current = parse(model_id)
        if not current.version:
            continue
        newer = [n for n in names if n.family_key == current.family_key and n.version > current.version
                 and n.size_class == current.size_class and n.variant == current.variant]
        if newer:
            best = max(newer, key=lambda n: n.version)
            pairs.append((model_id, best.model_id))
    return pairs


def history(catalog: dict[str, int | None], family_key: str) -> list[dict[str, object]]:
    """A family's versions, oldest first: id, version, size, variant and when it was created (unix seconds)."""
    members = [parse(model_id) for model_id in catalog if parse(model_id).family_key == family_key]
    members.sort(key=lambda n: (n.version, n.size_class, n.variant, n.model_id))
    return [{"id": n.model_id, "version": n.version_text, "size": n.size, "size_class": n.size_class,
             "variant": n.variant, "created": catalog[n.model_id]} for n in members]
