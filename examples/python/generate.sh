#!/usr/bin/env bash
# Generates the Python messages and gRPC stubs of proto/ with Debian's protoc and
# grpc_python_plugin (apt-get install protobuf-compiler protobuf-compiler-grpc):
#
#   examples/python/generate.sh [OUT_DIR]     # default: examples/python/gen (gitignored)
#
# The output is not committed, unlike gen/ for the TypeScript stacks: Python's protobuf runtime
# only accepts code from a compatible protoc, so generating with the distribution's protoc next to
# the distribution's python3-protobuf keeps the two matched, and a committed copy would tie the
# drift check to one Debian protoc version. The test generates afresh from proto/ on every run, so
# the contract still cannot drift from what Python speaks.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/examples/python/gen}"
plugin="$(command -v grpc_python_plugin || true)"
if ! command -v protoc >/dev/null 2>&1 || [ -z "$plugin" ]; then
  echo "generate.sh needs protoc and grpc_python_plugin:" \
    "apt-get install -y protobuf-compiler protobuf-compiler-grpc" >&2
  exit 1
fi
mkdir -p "$out"
# google/protobuf/*.proto come with protoc (/usr/include); their Python modules with
# python3-protobuf. google/rpc/*.proto are vendored in proto/, so they are generated here too.
protoc -I "$root/proto" \
  --plugin=protoc-gen-grpc_python="$plugin" \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  "$root"/proto/tollgate/v1/*.proto "$root"/proto/google/rpc/*.proto
echo "generated Python code for proto/ in $out" >&2
