#!/usr/bin/env bash
# Regenerates the ODS-generated references in docs/ from a build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" bm-docs
mkdir -p "$root/docs/generated"
cp "$build/docs/Dialects/BMDialect.md" "$root/docs/generated/BMDialect.md"
cp "$build/docs/Dialects/BMPasses.md" "$root/docs/generated/BMPasses.md"
cp "$build/docs/Dialects/BMConversionPasses.md" "$root/docs/generated/BMConversionPasses.md"
cp "$build/docs/Dialects/BMCodegenCPUPasses.md" "$root/docs/generated/BMCodegenCPUPasses.md"
cp "$build/docs/Dialects/BMCodegenGPUPasses.md" "$root/docs/generated/BMCodegenGPUPasses.md"
echo "docs/generated updated"
