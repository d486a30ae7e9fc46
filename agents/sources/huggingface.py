"""The Hugging Face Hub through ``huggingface_hub`` (its session, auth and paging), at ``HF_ENDPOINT``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from agents.papers import Item
from agents.sources.http import SourceFailure

EXPAND = ["downloads", "likes", "trendingScore", "createdAt", "lastModified", "library_name", "tags", "gated",
          "safetensors", "pipeline_tag"]
CODE = "code"  # not a pipeline tag: text-generation models tagged "code"


def _library(endpoint: str) -> Any:
    """Import huggingface_hub the safe way: HF_ENDPOINT is read at import, and telemetry would call the real Hub."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_ENDPOINT", endpoint)
    import huggingface_hub
    import huggingface_hub.errors
    import huggingface_hub.utils

    return huggingface_hub


def record(item: dict[str, Any]) -> dict[str, Any]:
    """The fields scoring and selection need, straight from a listing item (``GET /api/models`` JSON)."""
    tags = [str(t) for t in item.get("tags") or []]
    licence = next((t.split(":", 1)[1] for t in tags if t.startswith("license:")), None)
    safetensors = item.get("safetensors")
    parameters = safetensors.get("total") if isinstance(safetensors, dict) else None
    gated = item.get("gated")
    return {
        "id": str(item["id"]), "pipeline_tag": item.get("pipeline_tag"), "downloads": item.get("downloads"),
        "likes": item.get("likes"), "trending_score": item.get("trendingScore"), "library": item.get("library_name"),
        "tags": tags, "license": licence, "gated": None if gated is None else bool(gated),
        "parameters": parameters if isinstance(parameters, int) else None,
        "created_at": item.get("createdAt"), "last_modified": item.get("lastModified"),
    }


@dataclass
class HuggingFace:
    endpoint: str
    token: str | None = None
    attempts: int = 3
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def _backoff(self, attempt: int) -> None:
        if attempt < self.attempts - 1:
            self.sleep(min(30.0, 0.5 * 2.0**attempt))

    def top(self, task: str, limit: int, min_downloads: int) -> list[dict[str, Any]]:
        """The most downloaded models for a task (a pipeline tag, or "code"), above ``min_downloads``."""
        hub = _library(self.endpoint)
        query: dict[str, Any] = ({"pipeline_tag": "text-generation", "filter": "code"} if task == CODE
                                 else {"pipeline_tag": task})
        # the library's paginated listing as raw JSON: HfApi.list_models would build a ModelInfo per model
        # (strptime on every date), five times the cost of parsing the listing
        params = {**query, "sort": "downloads", "limit": limit, "expand": EXPAND}
        headers = hub.utils.build_hf_headers(token=self.token or False, library_name="improve")
        last: SourceFailure | None = None
        for attempt in range(self.attempts):
            try:
                items = hub.utils.paginate(f"{self.endpoint.rstrip('/')}/api/models", params, headers)
                found = [record(item) for item in islice(items, limit) if isinstance(item, dict) and "id" in item]
                return [model for model in found if (model["downloads"] or 0) >= min_downloads]
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
                    self._backoff(attempt)
            except (ValueError, KeyError, TypeError) as exc:
                raise SourceFailure("huggingface", "malformed", f"{task}: {type(exc).__name__}: {exc}", 200,
                                    self.endpoint) from exc
            except Exception as exc:  # httpx2 transport errors and timeouts
                kind = "timeout" if "Timeout" in type(exc).__name__ else "connection"
                last = SourceFailure("huggingface", kind, f"{task}: {type(exc).__name__}: {exc}", None, self.endpoint)
                self._backoff(attempt)
        assert last is not None
        raise last


def releases(endpoint: str, token: str | None, authors: list[str], limit: int) -> list[Item]:
    """The newest models of watched organisations, newest first (``arxiv:<id>`` tags link them to papers)."""
    hub = _library(endpoint)
    headers = hub.utils.build_hf_headers(token=token or False, library_name="improve")
    items: list[Item] = []
    for author in authors:
        params = {"author": author, "sort": "createdAt", "limit": limit, "expand": EXPAND}
        try:
            listing = hub.utils.paginate(f"{endpoint.rstrip('/')}/api/models", params, headers)
            found = [record(item) for item in islice(listing, limit) if isinstance(item, dict) and "id" in item]
        except hub.errors.HfHubHTTPError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            raise SourceFailure("huggingface", f"http_{status}", f"{author}: HTTP {status}", status, endpoint) from exc
        except Exception as exc:  # httpx2 transport errors and timeouts
            raise SourceFailure("huggingface", "connection", f"{author}: {type(exc).__name__}", None,
                                endpoint) from exc
        items += [Item("huggingface", model["id"], f"{endpoint.rstrip('/')}/{model['id']}",
                       summary=" ".join(model["tags"]), published=model["created_at"], native_id=model["id"],
                       tags=tuple(model["tags"])) for model in found]
    return items


def probe(endpoint: str, timeout: float, secrets: list[str]) -> None:
    """Raise SourceFailure at once if the Hub does not answer: the library's own retries take minutes."""
    import httpx

    from agents.sources.http import Fetcher

    with httpx.Client(timeout=timeout, headers={"User-Agent": "improve"}) as client:
        Fetcher("huggingface", client, attempts=1, secrets=secrets).get_json(
            f"{endpoint.rstrip('/')}/api/models", {"limit": 1})
