"""The weekly report: its model, the SAFE rule, Markdown rendering (and, later, publishers)."""
