"""The Hugging Face Hub through ``huggingface_hub``'s HfApi, pointed at ``HF_ENDPOINT`` (a mirror or a stand-in)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.sources.http import SourceFailure

EXPAND = ["downloads", "likes", "trendingScore", "createdAt", "lastModified", "library_name", "tags", "gated",
          "safetensors", "pipeline_tag"]
CODE = "code"  # not a pipeline tag: text-generation models tagged "code"


def _library(endpoint: str) -> Any:
    """Import huggingface_hub the safe way: HF_ENDPOINT is read at import, and telemetry would call the real Hub."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_ENDPOINT", endpoint)
    import huggingface_hub

    return huggingface_hub


def record(info: Any) -> dict[str, Any]:
    """The fields scoring and selection need, as plain JSON."""
    tags = list(info.tags or [])
    licence = next((t.split(":", 1)[1] for t in tags if t.startswith("license:")), None)
    safetensors = getattr(info, "safetensors", None)
    parameters = getattr(safetensors, "total", None) if safetensors is not None else None
    return {
        "id": info.id, "pipeline_tag": info.pipeline_tag, "downloads": info.downloads, "likes": info.likes,
        "trending_score": info.trending_score, "library": info.library_name, "tags": tags, "license": licence,
        "gated": bool(info.gated) if info.gated is not None else None, "parameters": parameters,
        "created_at": info.created_at.isoformat() if info.created_at else None,
        "last_modified": info.last_modified.isoformat() if info.last_modified else None,
    }


@dataclass
class HuggingFace:
    endpoint: str
    token: str | None = None
    attempts: int = 3
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def top(self, task: str, limit: int, min_downloads: int) -> list[dict[str, Any]]:
        """The most downloaded models for a task (a pipeline tag, or "code"), above ``min_downloads``."""
        hub = _library(self.endpoint)
        api = hub.HfApi(endpoint=self.endpoint.rstrip("/"))
        query: dict[str, Any] = ({"pipeline_tag": "text-generation", "filter": "code"} if task == CODE
                                 else {"pipeline_tag": task})
        last: SourceFailure | None = None
        for attempt in range(self.attempts):
            try:
                found = list(api.list_models(sort="downloads", limit=limit, expand=EXPAND,
                                             token=self.token or False, **query))
                return [record(info) for info in found if (info.downloads or 0) >= min_downloads]
            except hub.errors.HfHubHTTPError as exc:
                status = getattr(getattr(exc, "response", None), "status_code", None)
                headers = getattr(getattr(exc, "response", None), "headers", {}) or {}
                last = SourceFailure("huggingface", f"http_{status}" if status != 429 else "rate_limited",
                                     f"{task}: HTTP {status}", status, self.endpoint)
                if status == 429:
                    wait = float(headers.get("retry-after", 2 ** attempt) or 0)
                    if wait > self.max_wait:
                        raise last from exc
                    self.sleep(wait)
                elif status is not None and status < 500:
                    raise last from exc
                else:
                    self.sleep(min(30.0, 0.5 * 2.0**attempt))
            except (ValueError, KeyError, TypeError) as exc:
                raise SourceFailure("huggingface", "malformed", f"{task}: {type(exc).__name__}: {exc}", 200,
                                    self.endpoint) from exc
            except Exception as exc:  # httpx2 transport errors and timeouts
                kind = "timeout" if "Timeout" in type(exc).__name__ else "connection"
                last = SourceFailure("huggingface", kind, f"{task}: {type(exc).__name__}: {exc}", None, self.endpoint)
                self.sleep(min(30.0, 0.5 * 2.0**attempt))
        assert last is not None
        raise last
