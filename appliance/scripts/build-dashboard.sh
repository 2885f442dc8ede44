#!/usr/bin/env bash
# Builds the web dashboard (api/dashboard: TypeScript for the browser, with
# DOM types, plus its page, stylesheet and icon) into <dist>/api/dashboard, where
# api/plugins/dashboard.ts serves it from. Separate from the product's tsc
# run because the browser code has its own compiler settings (no Node).
# Usage: build-dashboard.sh [dist directory, default dist]
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-dist}/api/dashboard"
rm -rf "$out"
node_modules/.bin/tsc -p api/dashboard/tsconfig.json --outDir "$out"
cp api/dashboard/index.html api/dashboard/style.css api/dashboard/icon.svg "$out/"
