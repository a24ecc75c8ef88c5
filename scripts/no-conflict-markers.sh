#!/usr/bin/env bash
# Fails when a tracked file still holds merge-conflict markers (a leftover once reached docs/ unseen).
set -euo pipefail
cd "$(dirname "$0")/.."
marker='^(<{7}|>{7}) |^={7}$'
if git grep -nE "$marker" -- . ':!node_modules' ':!scripts/no-conflict-markers.sh'; then
  echo 'merge-conflict markers left in the files above' >&2
  exit 1
fi
