#!/usr/bin/env bash
# Builds the page and serves it at http://127.0.0.1:PORT/ (default 8000)
# until stopped. Installs nothing: web/build.sh prints what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8000}
command -v python3 >/dev/null || { echo "web/serve.sh: needs python3 (its http.server)" >&2; exit 1; }
web/build.sh
echo "serving http://127.0.0.1:$port/ (Ctrl-C stops); open it in a browser with WebGPU"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory web
