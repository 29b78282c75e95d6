#!/usr/bin/env bash
# On a GPU host: the full diagnostics report with the matmul smoke test, as JSON, then its exit status.
# Needs only the frameworks themselves (no gradio); frameworks that are absent are reported as such.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
"$PYTHON" -m diagnostics --json --smoke --timeout "${DIAGNOSTICS_TIMEOUT:-300}"
status=$?
echo "exit status: $status (0 OK, 1 WARN, 2 FAIL)" >&2
exit "$status"
