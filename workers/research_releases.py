"""The model repos the stand-in Hub lists each simulated week: a release citing the week's first paper and, from
week 2, one family in several sizes, alike in their tags but each its own model with its own card."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    """A model repo; its id is ``<author>/<name>``."""

    name: str
    billions: float  # parameters
    tags: tuple[str, ...]
    card: str  # the model card's summary
    cites_paper: bool = False  # tagged with the week's first paper
    pipeline: str = "text-generation"
    licence: str = "apache-2.0"


WEEKS: tuple[tuple[Release, ...], ...] = (
    (  # the sentence encoder matches no topic: week 1's scan posts its five papers and nothing else
        Release("Sagebrush-7B-Adaptive", 7.6, ("reasoning", "math", "conversational"),
                "A 7B reasoning model fine-tuned to write short chains of thought and to stop sampling once its "
                "answers agree.", cites_paper=True),
        Release("Sagebrush-Embed-Base", 0.11, ("sentence-transformers", "sentence-similarity", "en"),
                "A 110M-parameter English sentence encoder for semantic search and clustering, distilled from a "
                "larger teacher.", pipeline="feature-extraction", licence="mit"),
    ),
    (
        Release("Tern-8B-Instruct-Draft", 0.4, ("speculative-decoding", "draft-model"),
                "Draft heads for Tern-8B-Instruct, trained on production prompts; use them for assisted "
                "generation with the 8B model.", cites_paper=True),
        Release("Tern-3B-Instruct", 3.1, ("conversational", "tool-use", "function-calling", "agent"),
                "A 3B instruction model for function calling that fits one consumer GPU, with a 32k context."),
        Release("Tern-8B-Instruct", 8.2, ("conversational", "tool-use", "function-calling", "agent"),
                "The 8B Tern, tuned for multi-step tool use over a 128k context; the target model of the Tern "
                "draft heads."),
    ),
    (
        Release("Kestrel-1.5B-Latent", 1.5, ("reasoning", "latent-reasoning"),
                "A 1.5B model that reasons in continuous latent tokens; its answers need a fifth of the tokens of "
                "written reasoning.", cites_paper=True),
        Release("Kestrel-14B-Chat", 14.8, ("conversational", "reasoning", "chain-of-thought", "math"),
                "A 14B chat model that thinks step by step before answering, strongest on math and science "
                "questions."),
        Release("Kestrel-32B-Chat", 32.5, ("conversational", "reasoning", "chain-of-thought", "math"),
                "The 32B Kestrel: longer and more careful reasoning than the 14B, at twice the memory; "
                "recommended with a 64k context."),
    ),
    (
        Release("Osprey-0.6B-Relations", 0.6, ("information-extraction", "relation-extraction"),
                "A 0.6B extractor of entities and their relations from short passages, for building graphs at "
                "question time.", cites_paper=True),
        Release("Osprey-4B-RAG", 4.0, ("rag", "retrieval-augmented-generation", "long-context", "citations"),
                "A 4B model for answering from retrieved passages with inline citations; 64k context."),
        Release("Osprey-12B-RAG", 12.2, ("rag", "retrieval-augmented-generation", "long-context", "citations"),
                "The 12B Osprey reads up to 200 passages at once and refuses when none supports an answer.",
                licence="cc-by-nc-4.0"),
    ),
    (
        Release("Heron-Router-0.3B", 0.3, ("router", "text-classification-head"),
                "A 0.3B classifier that picks, per prompt, the cheapest of five models likely to satisfy the "
                "user.", cites_paper=True, pipeline="text-classification"),
        Release("Heron-2B", 2.6, ("conversational", "multilingual", "on-device"),
                "A 2B multilingual chat model for phones and laptops, quantisation-friendly, in 24 languages."),
        Release("Heron-9B", 9.2, ("conversational", "multilingual", "reasoning"),
                "A 9B multilingual chat model with an optional thinking mode for harder questions."),
        Release("Heron-27B", 27.2, ("conversational", "multilingual", "reasoning"),
                "The 27B Heron for servers: the family's strongest on reasoning and coding, with a 128k context.",
                licence="other"),
    ),
    (
        Release("Plover-8B-Toolsmith", 8.0, ("agent", "code", "tool-use"),
                "An 8B model fine-tuned to write, test and document small Python tools for other agents.",
                cites_paper=True),
        Release("Plover-1B-Instruct", 1.2, ("conversational", "on-device", "gguf"),
                "A 1B instruction model for on-device assistants; a 4-bit build runs in 800 MB."),
        Release("Plover-4B-Instruct", 4.3, ("conversational", "on-device", "gguf"),
                "A 4B instruction model balancing quality and memory for laptops, with an 8-bit build."),
    ),
)


def releases(week: int) -> tuple[Release, ...]:
    """Simulated week ``week``'s releases (from 1); after the last, the weeks come round again."""
    return WEEKS[(week - 1) % len(WEEKS)]
