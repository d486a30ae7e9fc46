"""Every Redis key the project writes (RQ keeps its own ``rq:`` keys)."""

from __future__ import annotations

DEFAULT_PREFIX = "improve:v1:"


class Keys:
    """Builds keys under one versioned prefix, so two deployments (or two tests) can share a Redis."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        if not prefix or " " in prefix:
            raise ValueError(f"invalid key prefix {prefix!r}")
        self.prefix = prefix

    def stream(self, kind: str) -> str:
        return f"{self.prefix}stream:{kind}"

    def dead_letters(self) -> str:
        return f"{self.prefix}stream:dead-letters"

    def dedup(self, kind: str, fingerprint: str) -> str:
        return f"{self.prefix}dedup:{kind}:{fingerprint}"

    def cycle_index(self, cycle_id: str) -> str:
        """List of ``kind|stream-id`` members posted for one cycle, in post order."""
        return f"{self.prefix}cycle:{cycle_id}:entries"

    def time_index(self, kind: str) -> str:
        """Sorted set of stream ids of one kind, scored by the entry's ``created_at`` (the logical clock)."""
        return f"{self.prefix}time:{kind}"

    def cycle(self, cycle_id: str) -> str:
        return f"{self.prefix}cycle:{cycle_id}"

    def cycles(self) -> str:
        return f"{self.prefix}cycles"

    def trigger_lock(self, cycle_id: str) -> str:
        return f"{self.prefix}lock:trigger:{cycle_id}"

    def cycle_lease(self, cycle_id: str) -> str:
        return f"{self.prefix}lease:cycle:{cycle_id}"

    def step_lease(self, cycle_id: str, step: str) -> str:
        return f"{self.prefix}lease:step:{cycle_id}:{step}"

    def catalog_snapshot(self, source: str) -> str:
        return f"{self.prefix}catalog:{source}:snapshot"

    def catalog_meta(self, source: str) -> str:
        return f"{self.prefix}catalog:{source}:meta"

    def catalog_tombstones(self, source: str) -> str:
        return f"{self.prefix}catalog:{source}:tombstones"

    def catalog_health(self, source: str) -> str:
        return f"{self.prefix}catalog:{source}:health"

    def research_watermark(self, source: str) -> str:
        return f"{self.prefix}research:watermark:{source}"

    def research_seen(self) -> str:
        """Hash: finding identity -> the latest version seen (so nothing is shown twice across weeks)."""
        return f"{self.prefix}research:seen"

    def research_feed_state(self) -> str:
        """Hash: feed URL -> its ETag and Last-Modified (JSON), for conditional GETs."""
        return f"{self.prefix}research:feeds"

    def research_embeddings(self) -> str:
        """Hash: finding identity -> its posting time (float64 epoch seconds) then its embedding (float32), raw
        little-endian bytes; read for novelty and near-duplicates, dropped once older than the novelty window."""
        return f"{self.prefix}research:embeddings"

    def publish_lock(self, target: str) -> str:
        return f"{self.prefix}lock:publish:{target}"

    def proposal(self, proposal_id: str) -> str:
        return f"{self.prefix}proposal:{proposal_id}"

    def proposal_history(self, proposal_id: str) -> str:
        return f"{self.prefix}proposal:{proposal_id}:history"

    def proposals_by_status(self, status: str) -> str:
        return f"{self.prefix}proposals:status:{status}"

    def bench_run(self, run_id: str, part: str) -> str:
        """One benchmark run's parts: ``meta`` (hash), ``records`` (hash case -> record), ``todo`` (list of
        chunks), ``claims`` (sorted set chunk -> lease deadline)."""
        return f"{self.prefix}bench:run:{run_id}:{part}"

    def bench_history(self, model: str, baseline_key: str) -> str:
        """Sorted set of a model's valid run ids under one baseline key (suite, scorer, judge), by time."""
        return f"{self.prefix}bench:history:{baseline_key}:{model}"

    def config_version(self, version: int) -> str:
        """One live-config version's body (JSON); written once, never changed or deleted."""
        return f"{self.prefix}config:version:{version}"

    def config_current(self) -> str:
        """The number of the live-config version in use."""
        return f"{self.prefix}config:current"

    def config_history(self) -> str:
        """Sorted set of every live-config version number, scored by itself."""
        return f"{self.prefix}config:history"

    def planner_entries(self) -> str:
        """Hash: proposal id -> the id of its latest Proposal entry (what the upgrade agent applies)."""
        return f"{self.prefix}planner:entries"

    def planner_subjects(self) -> str:
        """Hash: a change's subject (``reprice:openai/gpt-5``) -> the latest proposal id about it."""
        return f"{self.prefix}planner:subjects"

    def upgrade_lock(self) -> str:
        return f"{self.prefix}lock:upgrade"

    def schedule_lock(self, name: str, period: str) -> str:
        """Taken (SET NX, with an expiry) by the one scheduled job that runs a schedule's period."""
        return f"{self.prefix}lock:schedule:{name}:{period}"

    def schedule_enqueued(self, name: str, period: str) -> str:
        """Set (NX, with an expiry) by the one scheduler that enqueues a schedule's period."""
        return f"{self.prefix}schedule:{name}:enqueued:{period}"

    def schedule_state(self, name: str) -> str:
        """Hash: a schedule's last run (period, when, action, detail) and when a scheduler first saw it."""
        return f"{self.prefix}schedule:{name}"

    def schedule_history(self, name: str) -> str:
        """List of a schedule's recent outcomes (JSON), newest first, capped."""
        return f"{self.prefix}schedule:{name}:history"

    def config_pulls(self) -> str:
        """Hash: proposal id -> the pull request opened for it on the routing file's repository (JSON)."""
        return f"{self.prefix}config:pulls"

    def pattern(self) -> str:
        """A SCAN pattern matching every key under this prefix."""
        return f"{self.prefix}*"
