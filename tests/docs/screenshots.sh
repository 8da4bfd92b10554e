#!/usr/bin/env bash
# Renders pages of the documentation site in headless Chromium (Debian: chromium) to PNG
# and fails when a page or diagram is missing or renders blank. Exits 77 (skipped) with
# the reason when Chromium is not installed.
# Usage: screenshots.sh HTML_DIR OUT_DIR
set -euo pipefail
html=${1:?HTML_DIR}
out=${2:?OUT_DIR}

browser=""
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then browser=$candidate; break; fi
done
if [[ -z $browser ]]; then
  echo "screenshots.sh: skipped: no chromium on PATH (Debian: apt-get install chromium)"
  exit 77
fi

rm -rf "$out"
mkdir -p "$out"
status=0
# A page of text and tables compresses to well over this; a blank or nearly blank
# 1280x2000 page to a few KB.
min_bytes=20000

shoot() {  # shoot FILE NAME: render FILE (under $html) to $out/NAME.png
  local file=$1 name=$2
  if [[ ! -s $html/$file ]]; then
    echo "screenshots.sh: $html/$file is missing or empty"
    status=1
    return
  fi
  timeout 120 "$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars \
    --virtual-time-budget=5000 --window-size=1280,2000 \
    --screenshot="$out/$name.png" "file://$html/$file" >/dev/null 2>&1 || true
  local size=0
  [[ -f $out/$name.png ]] && size=$(stat -c %s "$out/$name.png")
  if ((size < min_bytes)); then
    echo "screenshots.sh: $file renders blank or not at all ($size bytes of PNG)"
    status=1
  else
    echo "screenshots.sh: $file -> $out/$name.png ($size bytes)"
  fi
}

shoot index.html main
shoot architectures.html architectures
shoot arch_lenet5.html lenet5
shoot arch_resnet50.html resnet50
shoot lenet5.svg lenet5_diagram
shoot resnet50_blocks.svg resnet50_blocks_diagram
exit $status
