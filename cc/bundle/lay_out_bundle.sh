#!/usr/bin/env bash
# Lays out a relocatable bundle (see bundle.bzl): lay_out_bundle.sh --out DIR --version V
#   --program FILE... --lib FILE... [--model FILE...] [--sample FILE...]
set -euo pipefail

out="" version=""
programs=() libs=() models=() samples=()
while (($#)); do
  case "$1" in
    --out) out=$2 ;;
    --version) version=$2 ;;
    --program) programs+=("$2") ;;
    --lib) libs+=("$2") ;;
    --model) models+=("$2") ;;
    --sample) samples+=("$2") ;;
    *) echo "lay_out_bundle: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
[[ -n $out && -n $version && ${#programs[@]} -gt 0 && ${#libs[@]} -gt 0 ]] || {
  echo "lay_out_bundle: --out, --version, --program and --lib are required" >&2; exit 2; }

mkdir -p "$out/bin" "$out/lib"

# A hard link when the library is on the same file system (no 1.5 GB copy), a copy otherwise.
place() { ln -L "$1" "$2" 2>/dev/null || cp -L "$1" "$2"; }

for lib in "${libs[@]}"; do
  dest="$out/lib/$(basename "$lib")"
  if readelf -d "$lib" | grep -qE '\((RPATH|RUNPATH)\).*\$ORIGIN/\.\.'; then
    # Its RPATH points into the wheel's layout (liblite: $ORIGIN/../../megengine/core/lib): patch a copy.
    cp -L "$lib" "$dest"
    chmod u+w "$dest"
    patchelf --set-rpath '$ORIGIN' "$dest"
  else
    place "$lib" "$dest"
  fi
done

for program in "${programs[@]}"; do
  dest="$out/bin/$(basename "$program")"
  cp -L "$program" "$dest"
  chmod u+w "$dest"
  # Replaces the build's absolute DT_RPATH (into the venv) with a RUNPATH relative to the program
  # (patchelf writes DT_RUNPATH unless told --force-rpath).
  patchelf --set-rpath '$ORIGIN/../lib' "$dest"
done

if ((${#models[@]})); then
  mkdir -p "$out/models"
  for f in "${models[@]}"; do cp -L "$f" "$out/models/"; done
fi
if ((${#samples[@]})); then
  mkdir -p "$out/samples"
  for f in "${samples[@]}"; do cp -L "$f" "$out/samples/"; done
fi

# What the target machine must provide: the newest glibc / libstdc++ symbol versions used, and the
# libraries the bundle needs but does not carry.
elves=("$out"/bin/* "$out"/lib/*)
symbol_version() {
  objdump -T "${elves[@]}" 2>/dev/null | grep -oE "\($1_[0-9.]+\)" | tr -d '()' | sed "s/^$1_//" |
    sort -uV | tail -1
}
glibc=$(symbol_version GLIBC)
glibcxx=$(symbol_version GLIBCXX)
carried=" $(cd "$out/lib" && echo *) "
system_libs=$(for f in "${elves[@]}"; do readelf -d "$f" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p'; done |
  sort -u | while read -r so; do [[ $carried == *" $so "* ]] || echo "$so"; done | tr '\n' ' ')
opencv=$(echo "$system_libs" | tr ' ' '\n' | grep '^libopencv' | tr '\n' ' ' || true)
size_mb=$(du -sm --apparent-size "$out" | cut -f1)

model_line=""
if [[ -d $out/models ]]; then
  model=$(cd "$out/models" && ls -- *.mge | head -1)
  sample=$( [[ -d $out/samples ]] && cd "$out/samples" && ls | head -1 || true)
  model_line="Try it:      bin/inference models/$model${sample:+ -i samples/$sample}"
fi
cat >"$out/BUNDLE.txt" <<TXT
MegDeploy C++ inference bundle $version (x86-64 Linux)

bin/         inference, softmax_check (RUNPATH \$ORIGIN/../lib: the bundle can live anywhere)
lib/         MegEngine Lite and the libraries it loads
Size:        $size_mb MB unpacked
Needs:       glibc >= $glibc, libstdc++ with GLIBCXX_$glibcxx or newer
System libs: $system_libs
OpenCV:      ${opencv:-none} (Debian 12: apt install libopencv-imgcodecs406)
OpenSSL:     libcrypto.so.3, which checks and decrypts encrypted models (Debian 12: apt install libssl3)
$model_line
TXT
