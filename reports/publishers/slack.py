"""An optional Slack-compatible webhook: the one-line status and where the report is."""

from __future__ import annotations

import httpx

from reports.publishers import Publication


def slack_text(text: str) -> str:
    """Slack mrkdwn escaping: no <!channel> pings, no <url|links> from untrusted text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post_status(webhook_url: str, cycle_id: str, safe: bool, first_reason: str, report_path: str,
                transport: httpx.BaseTransport | None = None) -> Publication:
    flag = "SAFE=true" if safe else "SAFE=false"
    line = f"improve {cycle_id}: {flag}" + (f": {first_reason[:200]}" if not safe and first_reason else "")
    payload = {"text": slack_text(f"{line}. Report: {report_path}")}
    try:
        with httpx.Client(timeout=10.0, transport=transport) as client:
            response = client.post(webhook_url, json=payload)
        if response.status_code >= 400:
            return Publication("slack", "error", error=f"HTTP {response.status_code}")
    except httpx.HTTPError as exc:
        return Publication("slack", "error", error=type(exc).__name__)
    return Publication("slack", "posted")
