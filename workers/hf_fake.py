"""A stand-in for the Hugging Face Hub's model listing (``GET /api/models``), for the sandbox and tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from workers.sandbox import Request, Response

LICENSES = ["apache-2.0", "mit", "llama3.1", "gemma", "cc-by-nc-4.0", "other"]
LIBRARIES = ["transformers", "transformers", "sentence-transformers", "diffusers", "timm"]
RELEASING = ["meta-llama", "Qwen", "google", "mistralai", "deepseek-ai", "microsoft"]  # whose week it is to release
ORGS = ["meta-llama", "Qwen", "google", "mistralai", "microsoft", "deepseek-ai", "facebook", "openai", "nvidia"]


def hub_models(task: str, count: int, week: int = 1, code: bool = False) -> list[dict[str, Any]]:
    """``count`` realistic listing entries for a task, most downloaded first; each week one new model trends in."""
    now = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=7 * week)
    models = []
    for rank in range(count + week - 1):
        org = ORGS[rank % len(ORGS)]
        size = [0.5, 1.5, 3, 7, 8, 14, 32, 70][rank % 8]
        fresh = rank >= count  # the week's newcomers
        name = f"{task.split('-')[0]}-{'coder-' if code else ''}{'new-' if fresh else ''}model-{rank}-{size}b"
        models.append({
            "id": f"{org}/{name}", "_id": f"{rank:024x}", "pipeline_tag": task,
            "downloads": 5_000_000 // (rank + 1) if not fresh else 3_000_000, "likes": 4000 // (rank + 1) + 3,
            "trendingScore": 50 if fresh else max(0, 20 - rank),
            "createdAt": (now - timedelta(days=2 if fresh else 40 + 25 * (rank % 120))).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"),
            "lastModified": (now - timedelta(days=1 + rank % 300)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "library_name": LIBRARIES[rank % len(LIBRARIES)],
            "tags": [LIBRARIES[rank % len(LIBRARIES)], "safetensors", task, f"license:{LICENSES[rank % 6]}",
                     *(["code"] if code else []), "pytorch" if rank % 3 else "jax"],
            "gated": "manual" if rank % 7 == 3 else False,
            "safetensors": {"parameters": {"BF16": int(size * 1e9)}, "total": int(size * 1e9)},
        })
    return models


class FakeHub:
    def __init__(self, per_task: int = 30, week: int = 1) -> None:
        self.per_task, self.week = per_task, week
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def next_week(self) -> None:
        with self._lock:
            self.week += 1

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
        if request.path != "/api/models":
            return Response.json({"error": "Not Found"}, 404)
        author = request.query.get("author", [None])[0]
        if author:  # an organisation's newest releases (the research agent watches them): one lab a week
            from workers.research_fake import models  # imports this module's neighbours: import it when asked

            releasing = RELEASING[self.week % len(RELEASING)]
            return Response.json(models(author, self.week) if author == releasing else [])
        task = request.query.get("pipeline_tag", ["text-generation"])[0]
        code = "code" in request.query.get("filter", [])
        listing = sorted(hub_models(task, self.per_task, self.week, code), key=lambda m: -m["downloads"])
        limit = int(request.query.get("limit", ["1000"])[0])
        return Response.json(listing[:limit])
