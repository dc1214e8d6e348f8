#!/usr/bin/env bash
# Fails when the committed generated code (gen/) differs from what `buf generate` makes of proto/,
# so the contract and the code that speaks it can never drift apart. Generates into a temporary
# directory: the working tree is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx buf generate --output "$out"
if ! diff -r "$out/gen" gen >/dev/null; then
  echo "Generated code is out of date with proto/. Run 'npm run generate' and commit gen/." >&2
  diff -r "$out/gen" gen | head -40 >&2
  exit 1
fi
echo "generated code matches proto/"
