#!/usr/bin/env bash
# Runs the designer under a virtual display and writes a PNG of the window.
#
#   scripts/screenshot.sh OUT.png [FILE.json] [-- extra flowbench arguments]
#
# Environment: WAIT (seconds before the shot, default 6), SIZE (default 1280x800, the window's size),
# FLOWBENCH (the binary; default target/release/flowbench, else target/debug/flowbench).
# Needs xvfb-run and ImageMagick's import (Debian: xvfb xauth imagemagick libxcursor1 libxi6
# libxkbcommon-x11-0).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: scripts/screenshot.sh OUT.png [FILE.json] [-- extra args]}
shift
file=""
if [[ $# -gt 0 && $1 != "--" ]]; then
    file=$1
    shift
fi
[[ ${1:-} == "--" ]] && shift

bin=${FLOWBENCH:-}
if [[ -z $bin ]]; then
    if [[ -x target/release/flowbench ]]; then bin=target/release/flowbench; else bin=target/debug/flowbench; fi
fi
[[ -x $bin ]] || { echo "screenshot: $bin not found: run cargo build --release first" >&2; exit 1; }
for tool in xvfb-run import; do
    command -v $tool >/dev/null || { echo "screenshot: $tool is missing (apt-get install -y xvfb xauth imagemagick)" >&2; exit 1; }
done

# A private data folder: no autosave recovery question, no recent files from elsewhere.
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
args=()
if [[ -n $file ]]; then args=(open "$file"); fi
unset WAYLAND_DISPLAY
FLOWBENCH_DATA_DIR=$data FLOWBENCH_NATIVE_DIALOGS=0 xvfb-run -a -s "-screen 0 ${SIZE:-1280x800}x24" \
    sh -c '"$0" "$@" >/dev/null 2>&1 & pid=$!; sleep '"${WAIT:-6}"'; import -window root "'"$out"'"; kill $pid' \
    "$bin" "${args[@]}" "$@"
echo "wrote $out"
