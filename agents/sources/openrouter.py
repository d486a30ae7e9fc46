"""OpenRouter's public API: the model list (every output modality) and a model's endpoints."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from agents.sources.http import Fetcher, SourceFailure

MAX_PAGES = 20


class OpenRouter:
    def __init__(self, fetcher: Fetcher, base_url: str) -> None:
        self.fetcher = fetcher
        self.base_url = base_url.rstrip("/")

    def models(self, extra: dict[str, str] | None = None) -> list[Any]:
        """Every model, raw, as the API gives it (``{data: [...]}``, paged with ``links.next`` since 2026);
        ``extra`` adds filters such as ``category`` and ``sort``, in which case the order is OpenRouter's ranking."""
        models: list[Any] = []
        url: str | None = f"{self.base_url}/models"
        params: dict[str, str] | None = {"output_modalities": "all", **(extra or {})}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            body = self.fetcher.get_json(url, params)
            if isinstance(body, list):  # some mirrors store only the array
                return body
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise SourceFailure("openrouter", "malformed", "expected an object with a `data` list", 200, url)
            models += body["data"]
            following = (body.get("links") or {}).get("next") if isinstance(body.get("links"), dict) else None
            url = self._absolute(following) if following else None
            params = None
        return models

    def _absolute(self, link: str) -> str:
        if link.startswith("http"):
            return link
        root = self.base_url.split("/api/", 1)[0] if "/api/" in self.base_url else self.base_url
        return root + link

    def endpoints(self, model_id: str) -> dict[str, Any]:
        author, _, slug = model_id.partition("/")
        url = f"{self.base_url}/models/{quote(author)}/{quote(slug.split(':')[0])}/endpoints"
        body = self.fetcher.get_json(url)
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise SourceFailure("openrouter", "malformed", "expected an object with a `data` object", 200, url)
        data: dict[str, Any] = body["data"]
        return data
