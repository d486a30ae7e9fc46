"""Task categories: what each maps to on OpenRouter, how task text maps to one, and rankings from our own scores."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import mean
from typing import Any

from blackboard.entries import Measurement

# category -> OpenRouter's `category` parameter where the API has one (it ranks those itself)
OPENROUTER_CATEGORIES: dict[str, str | None] = {
    "coding": "programming", "reasoning": None, "math": None, "factual": "trivia", "multi-hop": None,
    "creative-writing": "roleplay", "translation": "translation", "summarization": None, "marketing": "marketing",
    "marketing/seo": "marketing/seo", "science": "science", "legal": "legal", "finance": "finance",
    "health": "health", "academia": "academia", "technology": "technology",
}
INTENTS: dict[str, list[str]] = {
    "translation": ["translate", "translation", "in french", "into french", "to french", "to spanish", "to german",
                    "in english"],
    "marketing/seo": ["seo", "meta description", "search ranking", "keywords for"],
    "marketing": ["slogan", "ad copy", "campaign", "tagline", "marketing"],
    "coding": ["code", "python", "javascript", "function", "bug", "refactor", "sql", "regex", "compile", "stack trace"],
    "math": ["solve", "equation", "integral", "derivative", "calculate", "probability", "proof", "math"],
    "summarization": ["summarize", "summarise", "summary", "tl;dr", "key points"],
    "creative-writing": ["poem", "story", "lyrics", "fiction", "haiku"],
    "multi-hop": ["compare", "and then", "both", "which of"],
    "reasoning": ["why", "reason", "plan", "explain how", "step by step"],
    "factual": ["who", "what is", "when did", "where is", "capital of"],
}
TOP = 10


@dataclass(frozen=True)
class Intent:
    category: str | None
    matched: list[str]


def intent(text: str, intents: dict[str, list[str]] = INTENTS) -> Intent:
    """The category whose keywords a task text matches best (the order of the map breaks ties)."""
    lowered = f" {text.lower()} "
    best: tuple[int, int, str | None, list[str]] = (0, 0, None, [])
    for order, (category, words) in enumerate(intents.items()):
        matched = [w for w in words if re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", lowered)]
        if len(matched) > best[0]:
            best = (len(matched), -order, category, matched)
    return Intent(best[2], best[3])


def ranking_from_measurements(measurements: Iterable[Measurement]) -> dict[str, list[str]]:
    """Per category, the models with the best mean benchmark score (ours), best first, at most TOP."""
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for m in measurements:
        if m.metric == "score":
            scores[m.category][m.model].append(m.value)
    return {category: [model for model, _ in sorted(((model, mean(values)) for model, values in models.items()),
                                                     key=lambda item: (-item[1], item[0]))][:TOP]
            for category, models in scores.items()}


def openrouter_facts(model: dict[str, Any], hub: dict[str, Any] | None) -> dict[str, Any]:
    """Scoring facts for an OpenRouter model, joined with its Hub record through ``hugging_face_id``."""
    pricing = model.get("pricing") or {}
    published = ((model.get("benchmarks") or {}).get("artificial_analysis") or {}).get("intelligence_index")
    free = str(model.get("id", "")).endswith(":free") or all(
        str(pricing.get(k, "0")) in ("0", "0.0") for k in ("prompt", "completion"))
    return {"downloads": (hub or {}).get("downloads"), "likes": (hub or {}).get("likes"),
            "license": (hub or {}).get("license"), "gated": (hub or {}).get("gated"),
            "created": model.get("created"), "published_index": published, "free_tier": free}
