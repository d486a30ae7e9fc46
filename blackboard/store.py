"""The blackboard store: idempotent posts to one Redis stream per kind, reads by cycle, by time and by group."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis

from blackboard.clock import Clock
from blackboard.entries import KINDS, EntryBase, decode_entry, encode_entry
from blackboard.errors import EntryDecodeError, StoreUnavailable
from blackboard.keys import Keys

logger = logging.getLogger(__name__)

# Posts a run of entries of one kind and cycle. KEYS: stream, cycle list, time index, then one dedup key per entry;
# ARGV: kind, cycle, then id, body, created-ms per entry. Each entry's dedup check, XADD and index updates happen in
# one atomic step, so a retried or racing post stores the fact once.
_POST = """
local out = {}
for i = 4, #KEYS do
  local a = (i - 4) * 3 + 2
  local existing = redis.call('GET', KEYS[i])
  if existing then
    out[#out + 1] = 0
    out[#out + 1] = existing
  else
    local sid = redis.call('XADD', KEYS[1], '*', 'id', ARGV[a + 1], 'kind', ARGV[1], 'cycle', ARGV[2],
                           'body', ARGV[a + 2])
    redis.call('SET', KEYS[i], sid)
    redis.call('RPUSH', KEYS[2], ARGV[1] .. '|' .. sid)
    redis.call('ZADD', KEYS[3], ARGV[a + 3], sid)
    out[#out + 1] = 1
    out[#out + 1] = sid
  end
end
return out
"""
CHUNK = 250  # entries per script call


@dataclass(frozen=True)
class Posted:
    """Where a post landed: ``created`` is false when the same fact was already there."""

    id: str
    stream_id: str
    created: bool


@dataclass(frozen=True)
class Delivery:
    """An entry handed to a consumer group reader; ack it (by stream id) once its outputs are posted."""

    stream_id: str
    entry: EntryBase
    redelivered: bool = False


@dataclass
class TrimReport:
    removed: dict[str, int] = field(default_factory=dict)
    held_back: dict[str, list[str]] = field(default_factory=dict)


def _sid(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


class Blackboard:
    """Posts and reads entries. Works on a ``decode_responses=True`` client (real Redis or fakeredis)."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None, clock: Clock | None = None) -> None:
        self.client = client
        self.keys = keys or Keys()
        self.clock = clock or Clock()
        self._post_script = client.register_script(_POST)

    # -- writing ------------------------------------------------------------------------------------------------

    def _post_args(self, run: Sequence[EntryBase]) -> tuple[list[str], list[str | int], list[str]]:
        """Script arguments for a run of entries sharing one kind and one cycle."""
        kind, cycle_id = run[0].kind, run[0].cycle_id
        keys = [self.keys.stream(kind), self.keys.cycle_index(cycle_id), self.keys.time_index(kind)]
        args: list[str | int] = [kind, cycle_id]
        ids: list[str] = []
        for entry in run:
            entry_id, body = encode_entry(entry)
            keys.append(self.keys.dedup(kind, entry_id.rpartition("-")[2]))
            args += [entry_id, body, int(entry.created_at.timestamp() * 1000)]
            ids.append(entry_id)
        return keys, args, ids

    @staticmethod
    def _runs(entries: Sequence[EntryBase]) -> Iterator[Sequence[EntryBase]]:
        """Consecutive entries of one kind and cycle, at most CHUNK at a time, in order."""
        start = 0
        for end in range(1, len(entries) + 1):
            if (end == len(entries) or end - start == CHUNK
                    or (entries[end].kind, entries[end].cycle_id) != (entries[start].kind, entries[start].cycle_id)):
                yield entries[start:end]
                start = end

    @staticmethod
    def _results(ids: list[str], reply: list[Any]) -> list[Posted]:
        return [Posted(entry_id, str(reply[2 * i + 1]), bool(reply[2 * i])) for i, entry_id in enumerate(ids)]

    def post(self, entry: EntryBase) -> Posted:
        keys, args, ids = self._post_args([entry])
        try:
            return self._results(ids, self._post_script(keys=keys, args=args))[0]
        except redis.ConnectionError as exc:
            raise StoreUnavailable(f"could not post {entry.kind}: {exc}") from exc

    def post_many(self, entries: Sequence[EntryBase], batch: int = 1000) -> list[Posted]:
        """Post entries in pipelined round trips of about ``batch``; each entry's post stays atomic and deduplicated.

        Batches are written ahead on one connection: Redis runs batch N while batch N+1 is being serialised.
        """
        results: list[Posted] = []
        try:
            connection: Any = self.client.connection_pool.get_connection()
        except redis.ConnectionError as exc:
            raise StoreUnavailable(f"could not post {len(entries)} entries: {exc}") from exc
        try:
            sha = self.client.script_load(_POST)
            in_flight: list[list[str]] = []
            for group in self._batches(entries, batch):
                prepared = [self._post_args(run) for run in group]
                commands = [("EVALSHA", sha, len(keys), *keys, *args) for keys, args, _ in prepared]
                connection.send_packed_command(connection.pack_commands(commands))
                results += self._collect(connection, in_flight)
                in_flight = [ids for _, _, ids in prepared]
            results += self._collect(connection, in_flight)
        except redis.ConnectionError as exc:
            connection.disconnect()
            raise StoreUnavailable(f"could not post {len(entries)} entries: {exc}") from exc
        except BaseException:
            connection.disconnect()  # replies may still be unread: never hand this connection out again
            raise
        finally:
            self.client.connection_pool.release(connection)
        return results

    def _collect(self, connection: Any, in_flight: list[list[str]]) -> list[Posted]:
        results: list[Posted] = []
        for ids in in_flight:
            reply = connection.read_response()
            if isinstance(reply, redis.ResponseError):
                raise reply
            results += self._results(ids, reply)
        return results

    def _batches(self, entries: Sequence[EntryBase], batch: int) -> Iterator[list[Sequence[EntryBase]]]:
        group: list[Sequence[EntryBase]] = []
        for run in self._runs(entries):
            group.append(run)
            if sum(len(r) for r in group) >= batch:
                yield group
                group = []
        if group:
            yield group

    # -- reading ------------------------------------------------------------------------------------------------

    def _decode(self, fields: dict[str, str], where: str) -> EntryBase | None:
        try:
            return decode_entry(fields.get("body", ""), fields.get("id"))
        except EntryDecodeError as exc:
            logger.warning("skipping undecodable entry %s: %s", where, exc)
            return None

    def _fetch(self, members: Iterable[tuple[str, str]]) -> list[EntryBase]:
        """Fetch (kind, stream id) pairs in one pipelined round trip, keeping their order."""
        wanted = list(members)
        pipe = self.client.pipeline(transaction=False)
        for kind, stream_id in wanted:
            pipe.xrange(self.keys.stream(kind), stream_id, stream_id)
        entries: list[EntryBase] = []
        for (kind, stream_id), found in zip(wanted, pipe.execute(), strict=True):
            if found:
                entry = self._decode(found[0][1], f"{kind}/{stream_id}")
                if entry is not None:
                    entries.append(entry)
        return entries

    def get(self, entry_id: str) -> EntryBase | None:
        kind, _, fingerprint = entry_id.rpartition("-")
        if kind not in KINDS:
            return None
        stream_id = self.client.get(self.keys.dedup(kind, fingerprint))
        return self._fetch([(kind, str(stream_id))])[0] if stream_id else None

    def read_cycle(self, cycle_id: str, kinds: Iterable[str] | None = None) -> list[EntryBase]:
        """Every entry posted for a cycle, in the order they were stored."""
        allowed = set(kinds) if kinds is not None else None
        members = []
        for member in self.client.lrange(self.keys.cycle_index(cycle_id), 0, -1):
            kind, _, stream_id = str(member).partition("|")
            if allowed is None or kind in allowed:
                members.append((kind, stream_id))
        return self._fetch(members)

    def read_window(self, kind: str, since: datetime, until: datetime) -> list[EntryBase]:
        """Entries of one kind whose ``created_at`` (the logical clock) lies in [since, until)."""
        low, high = int(since.timestamp() * 1000), int(until.timestamp() * 1000)
        stream_ids = self.client.zrangebyscore(self.keys.time_index(kind), low, f"({high}")
        return self._fetch((kind, str(sid)) for sid in stream_ids)

    def count(self, kind: str) -> int:
        return int(self.client.xlen(self.keys.stream(kind)))

    # -- consumer groups ----------------------------------------------------------------------------------------

    def ensure_group(self, kind: str, group: str) -> None:
        try:
            self.client.xgroup_create(self.keys.stream(kind), group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_group(
        self,
        kind: str,
        group: str,
        consumer: str,
        count: int = 100,
        block_ms: int | None = None,
        claim_idle_ms: int = 60_000,
        max_deliveries: int = 5,
    ) -> list[Delivery]:
        """Entries for a reader: its own unacked ones first, then stale ones of dead readers, then new ones.

        An entry delivered more than ``max_deliveries`` times, or one that no longer decodes, goes to the
        dead-letter stream and is acked there, so one poison entry cannot stall the reader.
        """
        timeout = self.client.connection_pool.connection_kwargs.get("socket_timeout")
        if block_ms is not None and timeout is not None and block_ms >= timeout * 1000:
            raise ValueError(f"block_ms={block_ms} must stay below the client's socket_timeout ({timeout} s)")
        self.ensure_group(kind, group)
        stream = self.keys.stream(kind)
        redelivered = True
        own: Any = self.client.xreadgroup(group, consumer, {stream: "0"}, count=count)
        raw: list[tuple[str, dict[str, str]]] = own[0][1] if own else []
        if not raw:
            claimed: Any = self.client.xautoclaim(stream, group, consumer, claim_idle_ms, "0-0", count=count)
            raw = claimed[1]
        if not raw:
            redelivered = False
            fresh: Any = self.client.xreadgroup(group, consumer, {stream: ">"}, count=count, block=block_ms)
            raw = fresh[0][1] if fresh else []
        deliveries_by_id = self._delivery_counts(stream, group, raw) if redelivered else {}
        out: list[Delivery] = []
        for stream_id, fields in raw:
            if not fields:  # deleted from the stream while pending
                self.client.xack(stream, group, stream_id)
                continue
            entry = self._decode(fields, f"{kind}/{stream_id}")
            if entry is None or deliveries_by_id.get(stream_id, 0) > max_deliveries:
                self._dead_letter(kind, group, stream_id, fields, "undecodable" if entry is None else "poison")
                continue
            out.append(Delivery(str(stream_id), entry, redelivered))
        return out

    def _delivery_counts(self, stream: str, group: str, raw: list[tuple[str, Any]]) -> dict[str, int]:
        if not raw:
            return {}
        pending = self.client.xpending_range(stream, group, min=raw[0][0], max=raw[-1][0], count=len(raw) * 2)
        return {str(p["message_id"]): int(p["times_delivered"]) for p in pending}

    def _dead_letter(self, kind: str, group: str, stream_id: str, fields: dict[str, str], why: str) -> None:
        logger.warning("dead-lettering %s/%s for group %s: %s", kind, stream_id, group, why)
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(self.keys.dead_letters(), {"kind": kind, "group": group, "stream_id": stream_id, "why": why,
                                             "body": fields.get("body", "")})
        pipe.xack(self.keys.stream(kind), group, stream_id)
        pipe.execute()

    def ack(self, kind: str, group: str, stream_ids: Sequence[str]) -> int:
        if not stream_ids:
            return 0
        return int(self.client.xack(self.keys.stream(kind), group, *stream_ids))

    def pending(self, kind: str, group: str) -> int:
        try:
            summary = self.client.xpending(self.keys.stream(kind), group)
        except redis.ResponseError:
            return 0
        return int(summary["pending"])

    # -- retention ----------------------------------------------------------------------------------------------

    def trim(self, older_than: timedelta, now: datetime | None = None, batch: int = 500) -> TrimReport:
        """Delete entries stored longer ago than ``older_than``, never past what a group has not acked or read.

        Held-back groups are named in the report (and logged): nothing unacked is ever dropped silently.
        """
        report = TrimReport()
        reference = now if now is not None else datetime.now().astimezone()
        cutoff = (int((reference - older_than).timestamp() * 1000), 0)
        for kind in KINDS:
            stream = self.keys.stream(kind)
            if not self.client.exists(stream):
                continue
            limit = cutoff
            for group in self.client.xinfo_groups(stream):
                name = str(group["name"])
                bound = _sid(str(group["last-delivered-id"]))
                bound = (bound[0], bound[1] + 1)
                if int(group["pending"]):
                    oldest = self.client.xpending(stream, name)["min"]
                    bound = min(bound, _sid(str(oldest)))
                if bound < limit:
                    limit = bound
                    report.held_back.setdefault(kind, []).append(name)
            if kind in report.held_back:
                logger.warning("trim of %s held back by unread or unacked entries of %s", kind,
                               ", ".join(report.held_back[kind]))
            report.removed[kind] = self._delete_before(kind, f"{limit[0]}-{limit[1]}", batch)
        return report

    def _delete_before(self, kind: str, bound: str, batch: int) -> int:
        stream = self.keys.stream(kind)
        removed = 0
        while True:
            old: list[tuple[str, dict[str, str]]] = self.client.xrange(  # type: ignore[assignment]
                stream, "-", f"({bound}", count=batch)
            if not old:
                return removed
            pipe = self.client.pipeline(transaction=True)
            for stream_id, fields in old:
                entry_id = fields.get("id", "")
                pipe.delete(self.keys.dedup(kind, entry_id.rpartition("-")[2]))
                pipe.lrem(self.keys.cycle_index(fields.get("cycle", "")), 1, f"{kind}|{stream_id}")
                pipe.zrem(self.keys.time_index(kind), stream_id)
            pipe.xdel(stream, *[stream_id for stream_id, _ in old])
            pipe.execute()
            removed += len(old)
