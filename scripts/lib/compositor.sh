# Shared by the compositor checks (scripts/hyprland-verify.sh, scripts/waybar-test.sh,
# scripts/vm-test.sh); sourced, not run.

# The home-manager module's renders (nix/render-golden.sh keeps them current). Their
# store paths read /nix/store/...-NAME/bin/PROGRAM.
golden=${AUDIO_DAEMON_GOLDEN:-$project/nix/golden}

# real_paths FILE BINDIR: FILE with this project's store paths replaced by BINDIR (where
# the real audioctl and audio-daemon are) and any other store path's bin/ by /usr/bin/
# (the testing root's). Fails if a store path is left, so a new path form is noticed.
real_paths() {
  local out
  out=$(sed -E -e "s#/nix/store/[^/ \"]*-audio-daemon-[^/ \"]*/bin/#$2/#g" \
    -e 's#/nix/store/[^/ "]*/bin/#/usr/bin/#g' "$1")
  if grep -q /nix/store <<<"$out"; then
    echo "real_paths: $1 still names a store path after substitution:" >&2
    grep -n /nix/store <<<"$out" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

# break_copy FILE SED_EXPR: FILE changed by SED_EXPR; fails if nothing changed (the
# golden file's form moved on and the breakage no longer applies).
break_copy() {
  local out
  out=$(sed -E -e "$2" "$1")
  if [ "$out" = "$(cat "$1")" ]; then
    echo "break_copy: '$2' changes nothing in $1" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

# Seconds since the script started, for the timing lines.
elapsed() { echo "$((SECONDS - ${1:-0})) s"; }
