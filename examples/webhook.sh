#!/usr/bin/env bash
# Sends every status line pici-monitor prints to a webhook, one POST per line.
#   WEBHOOK=https://example.com/ci-hook examples/webhook.sh --artifact-dir /srv/ci/artifacts
# A failed POST is logged and the line is kept in failed.jsonl for a later replay; the
# monitor itself is never held up by the webhook.
set -euo pipefail
: "${WEBHOOK:?set WEBHOOK to the URL to POST status lines to}"
failed=${PICI_WEBHOOK_FAILED:-failed.jsonl}

pici-monitor "$@" | while IFS= read -r line; do
  if ! curl -fsS --max-time 10 -H 'Content-Type: application/json' --data-binary "$line" "$WEBHOOK" >/dev/null; then
    printf '%s\n' "$line" >>"$failed"
    echo "webhook.sh: POST failed; line kept in $failed" >&2
  fi
done
