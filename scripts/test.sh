#!/usr/bin/env bash
# Sets up what the tests need, then runs every test:
#   training (pytest) -> fixtures (random pairs, converted checkpoints) -> lint + unit (node:test, real ONNX pairs) -> build and
#   package the .vsix for every target -> end to end (the linux-x64 .vsix in code-server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== training tools (pytest)"
/usr/bin/python3 -m pytest -q training/tests
echo "== fixtures"
/usr/bin/python3 training/make_fixtures.py 2>&1 | grep -v -i warning || true
test -f test/fixtures/generated/pair-a/reference.json
# Tiny Hugging Face checkpoints, converted by training.convert, and standard ONNX exports.
/usr/bin/python3 -m training.testdata.make_convert_fixtures 2>&1 | grep -v '^\[' | tail -1
test -f test/fixtures/generated/converted/qwen2/numpy-reference.json
echo "== lint"
npm run --silent lint
echo "== unit"
OVERFILL_REQUIRE_WEBGPU=1 npm run --silent test:unit  # lavapipe is installed by setup.sh: the WebGPU tests must run
echo "== build and package"
npm run --silent build
npm run --silent package
echo "== end to end"
npm run --silent test:e2e
