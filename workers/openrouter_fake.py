"""A stand-in for OpenRouter's model API whose catalog moves from one simulated week to the next.

Week 1 is the baseline; week 2 answers with a suspicious half-empty catalog (which must be rejected); week 3 and
later have additions, removals, price moves (one over 10x, one from free to paid), a context shrink and a deprecation.
"""

from __future__ import annotations

import re
import threading
import zlib
from typing import Any

from workers.sandbox import Request, Response

PARAMETERS = ["max_tokens", "temperature", "top_p", "stop", "seed", "tools", "tool_choice", "response_format"]
# provider, family, sizes, prompt $/M, completion $/M, context, tokenizer, input modalities
FAMILIES: list[tuple[str, str, list[str], float, float, int, str, list[str]]] = [
    ("openai", "gpt-5", ["", "-mini", "-nano"], 1.25, 10.0, 400000, "GPT", ["text", "image", "file"]),
    ("openai", "gpt-4.1", ["", "-mini", "-nano"], 2.0, 8.0, 1047576, "GPT", ["text", "image"]),
    ("openai", "gpt-oss", ["-20b", "-120b"], 0.05, 0.25, 131072, "GPT", ["text"]),
    ("anthropic", "claude", ["-opus-4.5", "-sonnet-4.5", "-haiku-4.5"], 3.0, 15.0, 200000, "Claude",
     ["text", "image"]),
    ("google", "gemini-2.5", ["-pro", "-flash", "-flash-lite"], 1.25, 10.0, 1048576, "Gemini",
     ["text", "image", "audio", "video"]),
    ("google", "gemma-3", ["-4b-it", "-12b-it", "-27b-it"], 0.04, 0.15, 131072, "Gemma", ["text", "image"]),
    ("meta-llama", "llama-3.3", ["-70b-instruct"], 0.13, 0.4, 131072, "Llama3", ["text"]),
    ("meta-llama", "llama-4", ["-scout", "-maverick"], 0.15, 0.6, 1048576, "Llama4", ["text", "image"]),
    ("mistralai", "mistral", ["-small-3.2-24b-instruct", "-medium-3.1", "-large-2411"], 0.1, 0.3, 131072,
     "Mistral", ["text"]),
    ("mistralai", "codestral", ["-2508"], 0.3, 0.9, 256000, "Mistral", ["text"]),
    ("qwen", "qwen-2.5", ["-7b-instruct", "-72b-instruct", "-coder-32b-instruct"], 0.04, 0.1, 32768, "Qwen",
     ["text"]),
    ("qwen", "qwen3", ["-8b", "-14b", "-32b", "-235b-a22b", "-coder"], 0.06, 0.24, 131072, "Qwen3", ["text"]),
    ("deepseek", "deepseek", ["-chat-v3.1", "-r1-0528", "-v3.2-exp"], 0.27, 1.1, 163840, "DeepSeek", ["text"]),
    ("x-ai", "grok", ["-4", "-4-fast", "-code-fast-1"], 3.0, 15.0, 256000, "Grok", ["text", "image"]),
    ("cohere", "command", ["-r-08-2024", "-r-plus-08-2024", "-a"], 0.15, 0.6, 128000, "Cohere", ["text"]),
    ("microsoft", "phi-4", ["", "-reasoning-plus", "-multimodal-instruct"], 0.07, 0.14, 32768, "Other",
     ["text"]),
    ("nvidia", "llama-3.3-nemotron", ["-super-49b-v1.5"], 0.1, 0.4, 131072, "Llama3", ["text"]),
    ("amazon", "nova", ["-micro-v1", "-lite-v1", "-pro-v1"], 0.04, 0.14, 300000, "Nova", ["text", "image"]),
    ("moonshotai", "kimi-k2", ["", "-0905"], 0.39, 1.9, 262144, "Other", ["text"]),
    ("z-ai", "glm-4.6", [""], 0.5, 1.75, 202752, "Other", ["text"]),
    ("perplexity", "sonar", ["", "-pro", "-reasoning"], 1.0, 1.0, 127072, "Other", ["text"]),
]
NEW_IN_WEEK_3 = [("qwen", "qwen3.5", ["-32b-instruct", "-7b-instruct"], 0.05, 0.2, 262144, "Qwen3", ["text"]),
                 ("google", "gemma-4", ["-31b-it"], 0.06, 0.2, 131072, "Gemma", ["text", "image"])]


def _price(per_million: float) -> str:
    return f"{per_million / 1_000_000:.10f}".rstrip("0").rstrip(".") or "0"


def _models(families: list[tuple[str, str, list[str], float, float, int, str, list[str]]]) -> list[dict[str, Any]]:
    models: list[dict[str, Any]] = []
    for provider, family, sizes, prompt, completion, context, tokenizer, inputs in families:
        for rank, size in enumerate(sizes):
            scale = 1 / (1 + 2 * rank)
            model_id = f"{provider}/{family}{size}"
            slug = re.sub(r"[^a-z0-9.-]", "-", f"{family}{size}".lower())
            models.append({
                "id": model_id, "canonical_slug": f"{provider}/{slug}-20250801",
                "hugging_face_id": f"{provider}/{slug}" if prompt < 0.5 else "",
                "name": f"{provider.title()}: {family}{size}", "created": 1754006400 + 86400 * len(models),
                "description": f"{family}{size} from {provider}.", "context_length": context,
                "architecture": {"modality": "+".join(inputs) + "->text", "input_modalities": inputs,
                                 "output_modalities": ["text"], "tokenizer": tokenizer, "instruct_type": None},
                "pricing": {"prompt": _price(prompt * scale), "completion": _price(completion * scale)},
                "top_provider": {"context_length": context, "max_completion_tokens": min(context, 65536),
                                 "is_moderated": provider in ("openai", "anthropic")},
                "per_request_limits": None, "supported_parameters": PARAMETERS, "default_parameters": {},
                "knowledge_cutoff": "2025-01-31", "expiration_date": None,
                "links": {"details": f"/api/v1/models/{model_id}/endpoints"},
            })
    return models


def catalog(week: int) -> list[dict[str, Any]]:
    """The catalog as OpenRouter would list it in a given simulated week (1-based)."""
    base = _models(FAMILIES)
    if week <= 1:
        return base
    if week == 2:
        return base[: len(base) // 2 - 1]  # a suspicious half-empty answer
    models = [m for m in base + _models(NEW_IN_WEEK_3)
              if m["id"] not in ("cohere/command-r-08-2024", "microsoft/phi-4-multimodal-instruct")]
    by_id = {m["id"]: m for m in models}
    by_id["openai/gpt-4.1-nano"]["pricing"]["prompt"] = "0.0000048"  # 12x its 0.4 $/M
    by_id["openai/gpt-oss-20b"]["pricing"] = {"prompt": "0", "completion": "0"}  # paid -> free
    by_id["deepseek/deepseek-chat-v3.1"]["pricing"]["completion"] = "0.000001"
    by_id["mistralai/mistral-large-2411"]["context_length"] = 65536  # shrink
    by_id["anthropic/claude-haiku-4.5"]["expiration_date"] = "2027-01-31"
    return models


class FakeOpenRouter:
    def __init__(self, week: int = 1) -> None:
        self.week = week
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def next_week(self) -> None:
        with self._lock:
            self.week += 1

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            week = self.week
        if request.path == "/api/v1/models":
            models = catalog(week)
            category = request.query.get("category", [None])[0]
            if category:  # a stable, category-specific order; in week 3 a newcomer tops programming
                models = sorted(models, key=lambda m: zlib.crc32(f"{category}:{m['id']}".encode()))
                if week >= 3 and category == "programming":
                    models.sort(key=lambda m: m["id"] != "qwen/qwen3.5-32b-instruct")
            return Response.json({"data": models})
        match = re.fullmatch(r"/api/v1/models/([^/]+)/([^/]+)/endpoints", request.path)
        if match:
            model_id = f"{match[1]}/{match[2]}"
            if model_id not in {m["id"] for m in catalog(week)}:
                return Response.json({"error": {"code": 404, "message": "Model not found"}}, 404)
            uptime = 91.0 if (week >= 3 and model_id == "openai/gpt-5-mini") else 99.8
            return Response.json({"data": {"id": model_id, "name": model_id, "endpoints": [
                {"provider_name": "Provider A", "status": 0, "uptime_last_1d": uptime, "uptime_last_30m": uptime,
                 "latency_last_30m": {"p50": 0.4, "p75": 0.6, "p90": 0.9, "p99": 1.8}}]}})
        return Response.json({"error": {"code": 404, "message": "Not Found"}}, 404)
