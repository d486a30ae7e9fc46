"""A stand-in for GitHub's issues REST API (the subset the report publisher uses), for the sandbox and tests."""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from workers.sandbox import Request, Response

_ISSUES = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues(?:/(?P<number>\d+)(?P<comments>/comments)?)?$")


class FakeGitHub:
    """Issues and comments kept in memory; answers like the REST API, including pagination and auth errors.

    ``faults`` holds responses to serve before anything else (a 403 rate limit, a 500), one per request.
    """

    def __init__(self, token: str = "test-token", login: str = "improve-bot") -> None:
        self.token = token
        self.login = login
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.faults: list[Response] = []
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.calls.append((request.method, request.path))
            if self.faults:
                return self.faults.pop(0)
            auth = request.headers.get("Authorization", "")
            if auth not in (f"Bearer {self.token}", f"token {self.token}"):
                return Response.json({"message": "Bad credentials"}, 401)
            match = _ISSUES.match(request.path)
            if not match:
                return Response.json({"message": "Not Found"}, 404)
            body = json.loads(request.body) if request.body else {}
            number = int(match["number"]) if match["number"] else None
            if number is not None and number not in self.issues:
                return Response.json({"message": "Not Found"}, 404)
            if match["comments"]:
                assert number is not None
                if request.method == "POST":
                    return self._comment(number, body)
                return self._page(request, self.comments[number])
            if number is None:
                if request.method == "POST":
                    return self._create(match["repo"], body)
                return self._list(request)
            if request.method == "PATCH":
                return self._update(number, body)
            return Response.json(self.issues[number])

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _create(self, repo: str, body: dict[str, Any]) -> Response:
        if not body.get("title"):
            return Response.json({"message": "Validation Failed"}, 422)
        if len(str(body.get("body", ""))) > 65_536:
            return Response.json({"message": "Validation Failed: body is too long (maximum is 65536 characters)"},
                                 422)
        number = len(self.issues) + 1
        self.issues[number] = {
            "id": 1000 + number, "number": number, "title": body["title"], "body": body.get("body", ""),
            "state": "open", "state_reason": None, "labels": [{"name": name} for name in body.get("labels", [])],
            "user": {"login": self.login}, "comments": 0, "created_at": self._now(), "updated_at": self._now(),
            "closed_at": None, "html_url": f"https://github.com/{repo}/issues/{number}",
        }
        return Response.json(self.issues[number], 201)

    def _update(self, number: int, body: dict[str, Any]) -> Response:
        if len(str(body.get("body", ""))) > 65_536:
            return Response.json({"message": "Validation Failed: body is too long (maximum is 65536 characters)"},
                                 422)
        issue = self.issues[number]
        for key in ("title", "body", "state", "state_reason"):
            if key in body:
                issue[key] = body[key]
        issue["closed_at"] = self._now() if issue["state"] == "closed" else None
        issue["updated_at"] = self._now()
        return Response.json(issue)

    def _comment(self, number: int, body: dict[str, Any]) -> Response:
        comment = {"id": 5000 + sum(len(c) for c in self.comments.values()), "body": body.get("body", ""),
                   "user": {"login": self.login}, "created_at": self._now()}
        self.comments[number].append(comment)
        self.issues[number]["comments"] += 1
        return Response.json(comment, 201)

    def _list(self, request: Request) -> Response:
        state = request.query.get("state", ["open"])[0]
        labels = {label for value in request.query.get("labels", []) for label in value.split(",") if label}
        found = [issue for _, issue in sorted(self.issues.items())
                 if (state == "all" or issue["state"] == state)
                 and labels <= {label["name"] for label in issue["labels"]}]
        return self._page(request, found)

    @staticmethod
    def _page(request: Request, items: list[dict[str, Any]]) -> Response:
        per_page = int(request.query.get("per_page", ["30"])[0])
        page = int(request.query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(items):
            query = {key: values[0] for key, values in request.query.items()} | {"page": str(page + 1)}
            headers["Link"] = f'<http://{request.headers.get("Host")}{request.path}?{urlencode(query)}>; rel="next"'
        return Response.json(chunk, headers=headers)

    def open_issues(self) -> list[dict[str, Any]]:
        return [issue for issue in self.issues.values() if issue["state"] == "open"]


def rate_limited(reset_in: float = 1.0) -> Response:
    """A 403 the way GitHub sends it when the primary rate limit is exhausted."""
    reset = int(datetime.now(UTC).timestamp() + reset_in)
    return Response.json({"message": "API rate limit exceeded"}, 403,
                         {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})


def server_error() -> Response:
    return Response.json({"message": "Server Error"}, 500)
