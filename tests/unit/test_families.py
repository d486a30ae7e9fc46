from __future__ import annotations

import pytest

from agents.families import history, parse, upgrade_candidates


@pytest.mark.parametrize(("model_id", "family", "version", "size", "variant", "size_class"), [
    ("qwen/qwen-2.5-7b-instruct", "qwen", (2, 5), "7b", "instruct", "small"),
    ("meta-llama/llama-3.3-70b-instruct", "llama", (3, 3), "70b", "instruct", "large"),
    ("google/gemma-4-31b-it", "gemma", (4,), "31b", "it", "medium"),
    ("qwen/qwen3-235b-a22b", "qwen", (3,), "235b", "", "huge"),
    ("qwen/qwen2.5-vl-72b-instruct:free", "qwen", (2, 5), "72b", "vl-instruct-free", "large"),
    ("openai/gpt-4.1-mini", "gpt", (4, 1), "mini", "", "mini"),
    ("openai/gpt-4o-mini", "gpt", (4,), "mini", "o", "mini"),
    ("anthropic/claude-3.7-sonnet", "claude", (3, 7), "sonnet", "", "sonnet"),
    ("mistralai/mistral-small-3.2-24b-instruct", "mistral-small", (3, 2), "24b", "instruct", "medium"),
    ("anthropic/claude-sonnet-4.5", "claude-sonnet", (4, 5), "", "", ""),
    ("google/gemini-2.5-flash-lite", "gemini", (2, 5), "flash", "lite", "flash"),
    ("mistralai/mistral-7b-instruct-v0.1", "mistral", (0, 1), "7b", "instruct", "small"),
    ("meta-llama/llama-3.2-1b-instruct", "llama", (3, 2), "1b", "instruct", "tiny"),
    ("deepseek/deepseek-r1-0528", "deepseek-r", (1,), "", "0528", ""),
])
def test_parse(model_id: str, family: str, version: tuple[int, ...], size: str, variant: str,
               size_class: str) -> None:
    name = parse(model_id)
    assert (name.family, name.version, name.size, name.variant, name.size_class) == (
        family, version, size, variant, size_class)


def test_upgrade_candidates_stay_in_the_size_class_and_variant() -> None:
    catalog = ["meta-llama/llama-3.1-70b-instruct", "meta-llama/llama-3.3-70b-instruct",
               "meta-llama/llama-3.3-8b-instruct", "qwen/qwen-2.5-7b-instruct", "qwen/qwen3-8b",
               "google/gemma-3-27b-it", "google/gemma-4-31b-it"]
    routed = ["meta-llama/llama-3.1-70b-instruct", "qwen/qwen-2.5-7b-instruct", "google/gemma-3-27b-it"]
    assert upgrade_candidates(routed, catalog) == [
        ("meta-llama/llama-3.1-70b-instruct", "meta-llama/llama-3.3-70b-instruct"),
        ("google/gemma-3-27b-it", "google/gemma-4-31b-it"),
    ]  # qwen3-8b has another variant ("" vs "instruct"): not a drop-in upgrade


def test_history_lists_versions_oldest_first() -> None:
    catalog = {"google/gemma-4-31b-it": 300, "google/gemma-3-27b-it": 200, "google/gemma-2-9b-it": 100,
               "openai/gpt-5": 1}
    assert [h["version"] for h in history(catalog, "google/gemma")] == ["2", "3", "4"]
