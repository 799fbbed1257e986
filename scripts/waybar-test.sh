#!/usr/bin/env bash
# waybar 0.15 (from the Debian testing root) shows the modules the home-manager module
# generates (nix/golden/waybar-config.json, store paths replaced by this project's
# binaries built in the root), fed by the real `audioctl waybar APP --follow` and the
# real daemon, under headless sway as a non-root user; plus README's one-shot module
# refreshed by SIGRTMIN+8, with waybar running as `.waybar-wrapped` as on NixOS.
# What the bar shows is compared, pixel for pixel, with the same bar fed the expected
# lines (tests/compositor/waybar-session.sh explains how).
#
#   scripts/waybar-test.sh      (root: uses scripts/testing-root.sh's cached root)
#
# Keeps its work directory (printed at the end): bar.png, the bar as the run left it,
# and shots/*.ppm, every state it checked (with FAILED-* pairs on a failure).
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)
cd "$project"
. scripts/lib/compositor.sh
start=$SECONDS

scripts/testing-root.sh build
echo "== building the binaries in the testing root (target/testing-root/release)"
scripts/testing-root.sh run scripts/build-release.sh 2>&1 | grep -v '^\s*\(Compiling\|Finished\)' || true
for b in audio-daemon audioctl audio-daemon-streams; do
  [ -x "target/testing-root/release/$b" ] || {
    echo "FAIL: target/testing-root/release/$b was not built" >&2
    exit 1
  }
done
build_done=$SECONDS

work=$(mktemp -d "${TMPDIR:-/tmp}/audio-daemon-waybar.XXXXXX")
chmod 755 "$work"
real_paths "$golden/waybar-config.json" /src/target/release >"$work/golden.json"
python3 - "$work" <<'PY'
import copy, json, sys
work = sys.argv[1]
bars = json.load(open(f"{work}/golden.json"))
bar = next(b for b in bars if any(k.startswith("custom/audio-") for k in b))
ours = {k for k in bar if k.startswith("custom/audio-")}
files = {"custom/audio-default-sink": "sink", "custom/audio-vesktop": "vesktop",
         "custom/audio-spotify": "spotify"}
if ours != set(files):
    sys.exit(f"waybar-test: the golden bar's modules are {sorted(ours)}, the check knows {sorted(files)}")
real = copy.deepcopy(bar)
real["output"] = "HEADLESS-1"
# README's one-shot module, as a user would add it by hand.
real["custom/audio-vesktop-oneshot"] = {
    "exec": "/src/target/release/audioctl waybar vesktop",
    "return-type": "json", "signal": 8, "interval": "once"}
files["custom/audio-vesktop-oneshot"] = "vesktop-oneshot"
real["modules-left"] = real.get("modules-left", []) + ["custom/audio-vesktop-oneshot"]
ref = copy.deepcopy(real)
ref["output"] = "HEADLESS-2"
for name, file in files.items():
    module = ref[name]
    module["exec"] = f"tail -n 1 -F /tmp/work/ref/{file}"
    module.pop("interval", None)
    module.pop("signal", None)
json.dump([real], open(f"{work}/real.json", "w"), indent=2)
json.dump([ref], open(f"{work}/ref.json", "w"), indent=2)
PY
cat >"$work/sway.conf" <<'EOF'
output HEADLESS-1 mode --custom 1100x60 position 0 0 bg #000000 solid_color
output HEADLESS-2 mode --custom 1100x60 position 1100 0 bg #000000 solid_color
EOF

status=0
scripts/root-sandbox.sh --user "$work" bash /src/tests/compositor/waybar-session.sh || status=$?
for f in "$work"/shots/*.ppm; do
  [ -e "$f" ] || continue
  # PNG copies of what was checked, for people (python3 only: no imaging library).
  python3 scripts/lib/ppm2png.py "$f" "${f%.ppm}.png" && rm "$f"
done
if [ "$status" != 0 ]; then
  echo "== FAILED; logs (also in $work/logs):"
  for log in "$work"/logs/*; do
    echo "---- $(basename "$log")"
    tail -n 40 "$log"
  done
fi
echo "== waybar check: $((build_done - start)) s build, $((SECONDS - build_done)) s session; bar screenshot: $work/bar.png (states checked: $work/shots/)"
exit "$status"
