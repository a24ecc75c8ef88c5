#!/usr/bin/env bash
# Runs only the given test files (the .mocharc spec list would add every suite).
exec npx mocha --no-config -r tsx/cjs -r ./integration/support/hooks.ts --extension ts -t 120000 --exit "$@"
