#!/usr/bin/env bash
# Smoke test of the real bundle, as a person would use it (Linux, needs Xvfb and the build env):
#   1. build it with packaging/build.py (or take one: --bundle DIR)
#   2. start the packaged editor on a virtual screen with a photo; the screenshot must show it
#   3. denoise a photo through the bundle's CLI; the output must exist and be cleaner; where the
#      bundle has prompt generation, generate with a tiny random pipeline of every catalog family
#   4. both with no network at all (a network namespace of their own, where `unshare` can make one)
#      and in a fresh HOME: first start works offline, logs and settings land in the user folders,
#      and the bundle folder is byte-for-byte unchanged afterwards (it may be read-only)
#   5. install into a temporary HOME, validate the desktop entry, check "Open with" and the
#      command link, uninstall, and check the HOME is exactly as before
#
#   packaging/smoke_test.sh [--bundle DIR] [--work DIR] [--no-generate]
# Runs with the Python on PATH (the build environment: it also makes the test images).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUNDLE=""
WORK=""
BUILD_ARGS=()
while [ $# -gt 0 ]; do
    case $1 in
    --bundle) BUNDLE=$(cd "$2" && pwd); shift ;;
    --work) WORK=$2; shift ;;
    --no-generate) BUILD_ARGS+=(--no-generate) ;;
    *) echo "usage: $0 [--bundle DIR] [--work DIR] [--no-generate]" >&2; exit 2 ;;
    esac
    shift
done
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/gptstudio-smoke.XXXXXX")}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
PY=${PYTHON:-python}
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
ok() { printf 'PASS  %s\n' "$*"; }
fail() {
    printf 'FAIL  %s\n' "$*" >&2
    exit 1
}
for tool in Xvfb desktop-file-validate; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install xvfb desktop-file-utils)"
done

# --- 1. build -------------------------------------------------------------------------------------
if [ -z "$BUNDLE" ]; then
    step "build (python packaging/build.py)"
    start=$(date +%s)
    nice -n 10 "$PY" "$ROOT/packaging/build.py" --dist "$WORK/dist" --work "$WORK/build" "${BUILD_ARGS[@]}" \
        >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "the build failed (log: $WORK/build.log)"; }
    BUNDLE="$WORK/dist/gptstudio"
    ok "built $BUNDLE in $(($(date +%s) - start)) s"
fi
[ -x "$BUNDLE/gptstudio-gui" ] && [ -x "$BUNDLE/gptstudio" ] || fail "$BUNDLE is not a bundle folder"
cat "$BUNDLE/BUILD-INFO.json" 2>/dev/null || true
echo "bundle size: $(du -sh "$BUNDLE" | cut -f1)"

# no network for the packaged programs: a network namespace of their own (root), or a user
# namespace with one (unprivileged), where the kernel allows it
NONET=()
if unshare -n true 2>/dev/null; then
    NONET=(unshare -n)
elif unshare -rn true 2>/dev/null; then
    NONET=(unshare -rn)
else
    echo "note: unshare cannot make a network namespace here; running with the network as it is"
fi
[ ${#NONET[@]} -eq 0 ] || echo "packaged programs run with no network: ${NONET[*]}"

snapshot() { (cd "$1" && find . -mindepth 1 -printf '%p %y %s %T@ %l\n' | LC_ALL=C sort); }
snapshot "$BUNDLE" >"$WORK/bundle-before.txt"

# test pictures: a grey ramp with a magenta square (to find in the screenshot), and a noisy photo
"$PY" - "$WORK" <<'EOF'
import sys
import numpy as np
from PIL import Image
work = sys.argv[1]
ramp = np.linspace(60, 200, 900, dtype=np.float32)[None, :, None] * np.ones((600, 1, 3), np.float32)
ramp[200:400, 300:600] = (230, 20, 230)
Image.fromarray(ramp.astype(np.uint8)).save(f"{work}/photo.png")
rng = np.random.default_rng(0)
y, x = np.mgrid[0:256, 0:256].astype(np.float32)
clean = np.stack([128 + 80 * np.sin(x / 19), 128 + 80 * np.cos(y / 23), 128 + 60 * np.sin((x + y) / 31)], -1)
Image.fromarray(clean.clip(0, 255).astype(np.uint8)).save(f"{work}/clean.png")
noisy = clean + rng.normal(0, 25, clean.shape)
Image.fromarray(noisy.clip(0, 255).round().astype(np.uint8)).save(f"{work}/noisy.png")
EOF

RUN_HOME="$WORK/home-run"
rm -rf "$RUN_HOME"
mkdir -p "$RUN_HOME"
clean_env=(env -u XDG_DATA_HOME -u XDG_CONFIG_HOME -u XDG_STATE_HOME -u XDG_CACHE_HOME
    -u GPTSTUDIO_DATA_DIR -u GPTSTUDIO_LOG_DIR -u GPTSTUDIO_DEVICE -u WAYLAND_DISPLAY HOME="$RUN_HOME")

# --- 2. the packaged editor on a virtual screen -----------------------------------------------------
step "start the packaged editor under Xvfb with a photo"
Xvfb -displayfd 3 -screen 0 1400x900x24 -nolisten tcp 3>"$WORK/display" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
DISPLAY_NAME=":$(tr -d '\n' <"$WORK/display")"
[ "$DISPLAY_NAME" != ":" ] || fail "Xvfb did not start"
start=$(date +%s.%N)
"${clean_env[@]}" DISPLAY="$DISPLAY_NAME" QT_QPA_PLATFORM=xcb "${NONET[@]}" "$BUNDLE/gptstudio-gui" "$WORK/photo.png" \
    >"$WORK/gui.out" 2>&1 &
GUI_PID=$!
PIDS+=("$GUI_PID")
verdict=""
for _ in $(seq 240); do
    kill -0 "$GUI_PID" 2>/dev/null || { cat "$WORK/gui.out"; fail "the packaged editor exited"; }
    verdict=$("$PY" - "$DISPLAY_NAME" "$WORK/screenshot.png" <<'EOF'
import sys
import numpy as np
from PIL import ImageGrab
shot = ImageGrab.grab(xdisplay=sys.argv[1])
shot.save(sys.argv[2])
px = np.asarray(shot.convert("RGB")).astype(int)
r, g, b = px[..., 0], px[..., 1], px[..., 2]
magenta = int(((r > 180) & (b > 180) & (g < 90)).sum())
colours = len(np.unique(px.reshape(-1, 3), axis=0))
ready = px.std() > 10 and colours > 100 and magenta > 5000
print(f"{'yes' if ready else 'no'} std={px.std():.1f} colours={colours} photo-pixels={magenta}")
EOF
    )
    case $verdict in yes*) break ;; esac
    sleep 0.5
done
shown=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
case $verdict in
yes*) ok "window with the photo on screen after ${shown} s ($verdict); screenshot: $WORK/screenshot.png" ;;
*) fail "no window with the photo after ${shown} s ($verdict); screenshot: $WORK/screenshot.png" ;;
esac
kill "$GUI_PID"
wait "$GUI_PID" 2>/dev/null || true

LOG="$RUN_HOME/.local/state/gptstudio/log/gptstudio.log"
grep -q "GPT Studio .*(bundle)" "$LOG" || fail "no start line in the support log $LOG"
ok "support log in the user's log folder: $LOG"
grep -q "data folder $RUN_HOME/.local/share/gptstudio" "$LOG" || fail "the data folder is not the platform one"
[ -f "$RUN_HOME/.local/share/gptstudio/settings.ini" ] || fail "no settings file in the data folder"
ok "user data folder with the settings: $RUN_HOME/.local/share/gptstudio"

# --- 3. the bundle's CLI ------------------------------------------------------------------------------
step "denoise through the bundle's CLI"
"${clean_env[@]}" "${NONET[@]}" "$BUNDLE/gptstudio" --version
"${clean_env[@]}" "${NONET[@]}" "$BUNDLE/gptstudio" denoise "$WORK/noisy.png" -o "$WORK/denoised.png" --overwrite \
    2>&1 | tail -3
"$PY" - "$WORK" <<'EOF' || fail "the denoised picture is wrong"
import sys
import numpy as np
from PIL import Image
work = sys.argv[1]
clean, noisy, out = (np.asarray(Image.open(f"{work}/{n}.png").convert("RGB")).astype(float) for n in ("clean", "noisy", "denoised"))
assert out.shape == clean.shape, (out.shape, clean.shape)
psnr = lambda a: 10 * np.log10(255**2 / ((a - clean) ** 2).mean())
print(f"PSNR noisy {psnr(noisy):.2f} dB -> denoised {psnr(out):.2f} dB")
assert psnr(out) > psnr(noisy) + 3, "not cleaner"
EOF
ok "denoised $WORK/denoised.png"
"${clean_env[@]}" "${NONET[@]}" "$BUNDLE/gptstudio" info "$WORK/denoised.png" | head -3

# prompt generation: a tiny random pipeline of every catalog family (the tests' builders), run by
# the bundle's diffusers and transformers, which import their classes by name at run time
if grep -q '"with_generate": true' "$BUNDLE/BUILD-INFO.json"; then
    step "generate through the bundle's CLI with a tiny pipeline of each family"
    GEN_DATA="$WORK/generate-data"
    rm -rf "$GEN_DATA"
    families=$(cd "$ROOT/tests/engines" && GPTSTUDIO_DATA_DIR="$GEN_DATA" "$PY" -c "
import diffusers_tiny as tiny
print(' '.join(tiny.install(f, 'tiny-' + f) for f in tiny.BUILDERS))")
    for model in $families; do
        if ! "${clean_env[@]}" GPTSTUDIO_DATA_DIR="$GEN_DATA" "${NONET[@]}" "$BUNDLE/gptstudio" generate --model "$model" \
            --prompt "a red fox" --size 64x64 --steps 2 --seed 1 -o "$WORK/$model.png" --overwrite >"$WORK/$model.log" 2>&1; then
            tail -5 "$WORK/$model.log"
            fail "generate with $model failed"
        fi
        "$PY" -c "import sys; from PIL import Image; assert Image.open(sys.argv[1]).size == (64, 64)" "$WORK/$model.png" ||
            fail "$model wrote no 64x64 picture"
        ok "generated $WORK/$model.png with $model"
    done
fi

snapshot "$BUNDLE" >"$WORK/bundle-after.txt"
diff "$WORK/bundle-before.txt" "$WORK/bundle-after.txt" >/dev/null ||
    fail "the programs wrote into their own folder: $(diff "$WORK/bundle-before.txt" "$WORK/bundle-after.txt" | head)"
ok "the bundle folder is unchanged after the editor and the CLI ran"

# --- 5. install, validate, uninstall ------------------------------------------------------------------
step "install into a temporary HOME, validate, uninstall"
INSTALL_HOME="$WORK/home-install"
rm -rf "$INSTALL_HOME"
mkdir -p "$INSTALL_HOME"
snapshot "$INSTALL_HOME" >"$WORK/home-before.txt"
env -u XDG_DATA_HOME HOME="$INSTALL_HOME" "$BUNDLE/install.sh"
ENTRY="$INSTALL_HOME/.local/share/applications/gptstudio.desktop"
desktop-file-validate "$ENTRY" || fail "desktop-file-validate rejects $ENTRY"
ok "desktop-file-validate accepts $ENTRY"
grep -q "^image/jpeg=.*gptstudio.desktop" "$INSTALL_HOME/.local/share/applications/mimeinfo.cache" ||
    fail "not registered for JPEG (Open with)"
ok "offered under Open with for: $(grep -c gptstudio.desktop "$INSTALL_HOME/.local/share/applications/mimeinfo.cache") image types"
# (its user data goes elsewhere: uninstall keeps user data, and this HOME must end up as it began)
"${clean_env[@]}" HOME="$INSTALL_HOME" GPTSTUDIO_DATA_DIR="$WORK/installed-data" "$INSTALL_HOME/.local/bin/gptstudio" \
    --version || fail "the installed command does not run"
ok "installed command runs"
env -u XDG_DATA_HOME HOME="$INSTALL_HOME" "$INSTALL_HOME/.local/opt/gptstudio/uninstall.sh" --quiet
snapshot "$INSTALL_HOME" | diff "$WORK/home-before.txt" - || fail "uninstall left something behind"
ok "uninstalled; the HOME is as it was before"

printf '\nsmoke test passed (work folder: %s)\n' "$WORK"
