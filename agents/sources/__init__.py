"""The only code that talks to the outside world (OpenRouter, HF Hub, arXiv, feeds, model endpoints)."""
