#!/usr/bin/env bash
# Cloud Scheduler jobs that call improve's HTTP API (`improve serve`) on the built-in schedules, for a deployment
# where no `improve scheduler` process runs (Cloud Run, for instance). Running both is harmless (a period runs
# once) but pointless. Idempotent: it creates the jobs, or updates them when they exist.
#
#   PROJECT=my-project IMPROVE_API_URL=https://improve.example.com bash infra/cloud-scheduler.sh
#
# The bearer token comes from Secret Manager (TOKEN_SECRET, default improve-api-token: the API's IMPROVE_API_TOKEN).
# Cloud Scheduler stores the header with the job: whoever may view the jobs may read it. Rotate the secret, then
# run this again. DRY_RUN=1 prints the gcloud commands (with the token masked) instead of running them.
set -euo pipefail

PROJECT="${PROJECT:?set PROJECT to the Google Cloud project id}"
API_URL="${IMPROVE_API_URL:?set IMPROVE_API_URL to the API base URL, e.g. https://improve.example.com}"
LOCATION="${LOCATION:-us-central1}"
TOKEN_SECRET="${TOKEN_SECRET:-improve-api-token}"
WEEKLY="${IMPROVE_SCHEDULE_WEEKLY:-0 3 * * 0}"
QUICK="${IMPROVE_SCHEDULE_QUICK:-0 */6 * * *}"
RESEARCH="${IMPROVE_SCHEDULE_RESEARCH:-0 2 * * *}"

if [[ -n "${DRY_RUN:-}" ]]; then
  TOKEN="***"
  gcloud() { printf 'gcloud'; printf ' %q' "$@"; printf '\n'; [[ "$2" != "describe" && "$3" != "describe" ]]; }
else
  TOKEN="$(gcloud secrets versions access latest --secret="$TOKEN_SECRET" --project="$PROJECT")"
fi

upsert() {  # NAME CRON PATH DESCRIPTION
  local name=$1 cron=$2 path=$3 description=$4
  if [[ -z "$cron" || "${cron,,}" == "off" ]]; then
    echo "skipping $name: its schedule is off" >&2
    return
  fi
  local headers="^|^Authorization=Bearer ${TOKEN}|Content-Type=application/json"  # "^|^": gcloud topic escaping
  local common=(--project="$PROJECT" --location="$LOCATION" --schedule="$cron" --time-zone="Etc/UTC"
    --uri="${API_URL%/}${path}" --http-method=POST --message-body='{}' --description="$description"
    --attempt-deadline=180s --max-retry-attempts=3 --min-backoff=60s)
  if gcloud scheduler jobs describe "$name" --project="$PROJECT" --location="$LOCATION" >/dev/null 2>&1; then
    gcloud scheduler jobs update http "$name" "${common[@]}" --update-headers="$headers"
  else
    gcloud scheduler jobs create http "$name" "${common[@]}" --headers="$headers"
  fi
}

# Retries are safe: the API starts a period's cycle once, and follows or reports it after that.
upsert improve-weekly "$WEEKLY" /api/weekly/run "improve: the weekly full cycle"
upsert improve-quick "$QUICK" /api/catalog/sync "improve: the quick catalog sync"
upsert improve-research "$RESEARCH" /api/research/scan "improve: the daily research scan"
