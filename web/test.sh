#!/usr/bin/env bash
# The real-browser test: serves the built page (web/build.sh) on
# 127.0.0.1, opens it in headless Chromium, whose WebGPU runs on its
# bundled SwiftShader Vulkan (no GPU, no X server), and passes when the
# console shows `wgconv-web check: ok` and a test accuracy of at least
# 0.90 within the time bound. Headless Chromium never exits by itself: the
# process groups this script started are ended on the way out.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${WGCONV_WEB_PORT:-8765}
limit=${WGCONV_WEB_SECONDS:-900}
out=$(mktemp -d)
trap 'kill -- -$browser 2>/dev/null || true; kill -- -$server 2>/dev/null || true' EXIT
setsid python3 -m http.server "$port" --bind 127.0.0.1 --directory web >"$out/http.log" 2>&1 &
server=$!
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null && break
  sleep 0.1
done
# The log exists before the browser writes it, so the first poll below
# finds an empty file rather than none.
: >"$out/chromium.log"
setsid chromium --headless=new --no-sandbox --enable-unsafe-webgpu --enable-features=Vulkan \
  --use-vulkan=swiftshader --use-webgpu-adapter=swiftshader --enable-logging=stderr \
  --disable-gpu-watchdog \
  --user-data-dir="$out/profile" --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --disable-quic \
  "http://127.0.0.1:$port/${WGCONV_WEB_QUERY:-}" 2>"$out/chromium.log" &
browser=$!
lines() { grep -o 'wgconv-web [^"]*' "$out/chromium.log" || true; }
start=$SECONDS
while [ $((SECONDS - start)) -lt "$limit" ]; do
  if lines | grep -q -e 'wgconv-web train:' -e 'check: FAILED' -e 'wgconv-web error' -e 'wgconv-web panic' \
    -e 'adapter: none'; then
    break
  fi
  sleep 1
done
lines
echo "($((SECONDS - start)) s in Chromium)"
if ! lines | grep -qx 'wgconv-web check: ok'; then
  echo "web/test.sh: no 'wgconv-web check: ok' line; Chromium's log ends:" >&2
  tail -20 "$out/chromium.log" >&2
  exit 1
fi
accuracy=$(lines | sed -n 's/^wgconv-web train: test_accuracy=\([0-9.]*\) .*/\1/p')
if [ -z "$accuracy" ]; then
  echo "web/test.sh: no training result (stopped after $((SECONDS - start)) of ${limit} s allowed); Chromium's log ends:" >&2
  tail -20 "$out/chromium.log" >&2
  exit 1
fi
python3 -c "import sys; a=float('$accuracy'); sys.exit(0 if a >= 0.90 else 1)" \
  || { echo "web/test.sh: test accuracy $accuracy is below 0.90" >&2; exit 1; }
echo "web/test.sh: ok (check ok, test accuracy $accuracy)"
