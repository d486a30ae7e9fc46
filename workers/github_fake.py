"""A stand-in for GitHub's REST API (the subset the publishers use), for the sandbox and tests: issues and
comments, and for routing pull requests the git refs, contents and pulls endpoints (see ``FakeRepository``)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlencode

from workers.sandbox import Request, Response

_ISSUES = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues(?:/(?P<number>\d+)(?P<comments>/comments)?)?$")
_REPO = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/(?:(?P<refs>git/refs)|git/ref/heads/(?P<branch>.+)"
                   r"|contents/(?P<path>.+)|pulls(?:/(?P<number>\d+))?)$")


class FakeGitHub:
    """Issues, comments, branches, files and pull requests kept in memory; answers like the REST API, including
    pagination and auth errors. Issues and pull requests share one number sequence, as on GitHub.

    ``faults`` holds responses to serve before anything else (a 403 rate limit, a 500), one per request.
    """

    def __init__(self, token: str = "test-token", login: str = "improve-bot") -> None:
        self.token = token
        self.login = login
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.repos = FakeRepository(self)
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
            try:
                body = json.loads(request.body) if request.body else {}
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return Response.json({"message": "Problems parsing JSON"}, 400)
            match = _ISSUES.match(request.path)
            if not match:
                return self.repos.handle(request, body)
            number = int(match["number"]) if match["number"] else None
            if number is not None and number not in self.issues and not (
                    match["comments"] and number in self.repos.pulls):  # a pull request's comments are an issue's
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

    def next_number(self) -> int:
        return len(self.issues) + len(self.repos.pulls) + 1

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _create(self, repo: str, body: dict[str, Any]) -> Response:
        if not body.get("title"):
            return Response.json({"message": "Validation Failed"}, 422)
        if len(str(body.get("body", ""))) > 65_536:
            return Response.json({"message": "Validation Failed: body is too long (maximum is 65536 characters)"},
                                 422)
        number = self.next_number()
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
        if number in self.issues:
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


def _error(message: str, status: int) -> Response:
    return Response.json({"message": message}, status)


class FakeRepository:
    """Branches (a ref per branch naming a commit, a commit per snapshot of files), the contents API with blob
    sha checks (a stale sha is a 409, a missing one a 422) and pull requests, for every repository; each one
    starts with an empty ``main``."""

    def __init__(self, github: FakeGitHub) -> None:
        self.github = github
        self.commits: dict[str, dict[str, bytes]] = {}  # commit sha -> path -> file content
        self.refs: dict[tuple[str, str], str] = {}  # (repo, branch) -> commit sha
        self.pulls: dict[int, dict[str, Any]] = {}

    def _commit(self, repo: str, branch: str, files: dict[str, bytes]) -> str:
        sha = hashlib.sha1(f"{repo}:{branch}:{len(self.commits)}".encode()).hexdigest()
        self.commits[sha] = files
        self.refs[(repo, branch)] = sha
        return sha

    def head(self, repo: str, branch: str) -> str | None:
        if (repo, "main") not in self.refs:
            self._commit(repo, "main", {})
        return self.refs.get((repo, branch))

    def write(self, repo: str, branch: str, path: str, text: str) -> None:
        """Commit a file straight onto a branch (tests seed a repository this way)."""
        sha = self.head(repo, branch) or self._commit(repo, branch, {})
        self._commit(repo, branch, {**self.commits[sha], path: text.encode()})

    def read(self, repo: str, branch: str, path: str) -> str | None:
        sha = self.head(repo, branch)
        content = self.commits[sha].get(path) if sha else None
        return content.decode() if content is not None else None

    @staticmethod
    def blob_sha(content: bytes) -> str:
        return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()

    def handle(self, request: Request, body: dict[str, Any]) -> Response:
        match = _REPO.match(request.path)
        if not match:
            return _error("Not Found", 404)
        repo, method = match["repo"], request.method
        if match["branch"] and method == "GET":
            sha = self.head(repo, unquote(match["branch"]))
            return Response.json({"ref": f"refs/heads/{unquote(match['branch'])}",
                                  "object": {"sha": sha, "type": "commit"}}) if sha else _error("Not Found", 404)
        if match["refs"] and method == "POST":
            return self._create_ref(repo, body)
        if match["path"] and method in ("GET", "PUT"):
            path = unquote(match["path"])
            return self._get_file(repo, path, request) if method == "GET" else self._put_file(repo, path, body)
        if match["number"]:
            pull = self.pulls.get(int(match["number"]))
            if pull is None or pull["base"]["repo"]["full_name"] != repo:
                return _error("Not Found", 404)
            if method == "PATCH":
                pull.update({key: body[key] for key in ("title", "body", "state") if key in body})
                pull["updated_at"] = self.github._now()
            return Response.json(pull)
        if request.path.endswith("/pulls"):
            return self._create_pull(repo, body) if method == "POST" else self._list_pulls(repo, request)
        return _error("Not Found", 404)

    def _create_ref(self, repo: str, body: dict[str, Any]) -> Response:
        ref, sha = str(body.get("ref", "")), str(body.get("sha", ""))
        if not ref.startswith("refs/heads/") or len(ref) <= len("refs/heads/"):
            return _error("Reference name must start with 'refs/heads/'", 422)
        if sha not in self.commits:
            return _error("Object does not exist", 422)
        branch = ref.removeprefix("refs/heads/")
        if self.head(repo, branch) is not None:
            return _error("Reference already exists", 422)
        self.refs[(repo, branch)] = sha
        return Response.json({"ref": ref, "object": {"sha": sha, "type": "commit"}}, 201)

    def _file(self, path: str, content: bytes) -> dict[str, Any]:
        encoded = base64.encodebytes(content).decode()  # GitHub wraps base64 at 60-odd columns
        return {"type": "file", "encoding": "base64", "name": path.rsplit("/", 1)[-1], "path": path,
                "size": len(content), "sha": self.blob_sha(content), "content": encoded}

    def _get_file(self, repo: str, path: str, request: Request) -> Response:
        branch = request.query.get("ref", ["main"])[0]
        sha = self.head(repo, branch)
        if sha is None:
            return _error(f"No commit found for the ref {branch}", 404)
        content = self.commits[sha].get(path)
        return Response.json(self._file(path, content)) if content is not None else _error("Not Found", 404)

    def _put_file(self, repo: str, path: str, body: dict[str, Any]) -> Response:
        branch = str(body.get("branch") or "main")
        head = self.head(repo, branch)
        if not body.get("message") or "content" not in body:
            return _error("Invalid request: message and content are required", 422)
        if head is None:
            return _error(f"Branch {branch} not found", 404)
        try:
            content = base64.b64decode(str(body["content"]), validate=True)
        except ValueError:
            return _error("content is not valid Base64", 422)
        present = self.commits[head].get(path)
        if present is not None and "sha" not in body:
            return _error('Invalid request: "sha" wasn\'t supplied.', 422)
        if present is not None and body["sha"] != self.blob_sha(present):
            return _error(f"{path} does not match {body['sha']}", 409)
        sha = self._commit(repo, branch, {**self.commits[head], path: content})
        return Response.json({"content": self._file(path, content), "commit": {"sha": sha,
                              "message": body["message"]}}, 201 if present is None else 200)

    def _create_pull(self, repo: str, body: dict[str, Any]) -> Response:
        owner = repo.split("/")[0]
        head, base = str(body.get("head", "")).removeprefix(f"{owner}:"), str(body.get("base", ""))
        if not body.get("title") or len(str(body.get("body", ""))) > 65_536:
            return _error("Validation Failed: a title is required and the body is at most 65536 characters", 422)
        head_sha, base_sha = self.head(repo, head), self.head(repo, base)
        if head_sha is None or base_sha is None:
            return _error(f"Validation Failed: no branch {head if head_sha is None else base}", 422)
        if any(p["head"]["ref"] == head and p["base"]["ref"] == base and p["state"] == "open"
               and p["base"]["repo"]["full_name"] == repo for p in self.pulls.values()):
            return _error(f"Validation Failed: A pull request already exists for {owner}:{head}.", 422)
        if self.commits[head_sha] == self.commits[base_sha]:
            return _error(f"Validation Failed: No commits between {base} and {head}", 422)
        number, now = self.github.next_number(), self.github._now()
        self.pulls[number] = {
            "id": 9000 + number, "number": number, "state": "open", "title": body["title"],
            "body": body.get("body", ""), "user": {"login": self.github.login}, "merged": False,
            "head": {"ref": head, "sha": head_sha, "label": f"{owner}:{head}"},
            "base": {"ref": base, "sha": base_sha, "repo": {"full_name": repo}},
            "created_at": now, "updated_at": now, "html_url": f"https://github.com/{repo}/pull/{number}"}
        return Response.json(self.pulls[number], 201)

    def _list_pulls(self, repo: str, request: Request) -> Response:
        state = request.query.get("state", ["open"])[0]
        head = request.query.get("head", [None])[0]
        found = [p for _, p in sorted(self.pulls.items()) if p["base"]["repo"]["full_name"] == repo
                 and (state == "all" or p["state"] == state) and (head is None or p["head"]["label"] == head)]
        return self.github._page(request, found)


def rate_limited(reset_in: float = 1.0) -> Response:
    """A 403 the way GitHub sends it when the primary rate limit is exhausted."""
    reset = int(datetime.now(UTC).timestamp() + reset_in)
    return Response.json({"message": "API rate limit exceeded"}, 403,
                         {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})


def server_error() -> Response:
    return Response.json({"message": "Server Error"}, 500)
