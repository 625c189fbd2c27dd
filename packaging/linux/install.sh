#!/bin/sh
# Install GPT Studio for the current user, without root: run ./install.sh in the unpacked folder.
#
# It copies this folder to ~/.local/opt/gptstudio, adds GPT Studio to the applications menu with
# its icons, registers it for images (so it is offered under "Open with"), and links the
# `gptstudio` command into ~/.local/bin. Everything it creates is listed in the installed copy's
# .gptstudio-install, which uninstall.sh reads to take exactly that out again. Running it again
# (a newer version) first removes the previous install the same way.
#
# Where things go (set these to change it):
#   GPTSTUDIO_PREFIX   the program folder          (default: ~/.local/opt/gptstudio)
#   GPTSTUDIO_BIN_DIR  where the `gptstudio` link goes (default: ~/.local/bin)
#   XDG_DATA_HOME      menu entry and icons        (default: ~/.local/share)
# Pictures, models, settings and logs are not here: the program keeps them in your user folders
# (Help > About in the editor names them).
set -eu

die() {
    echo "install.sh: $*" >&2
    exit 1
}

HERE=$(cd "$(dirname "$0")" && pwd -P)
: "${HOME:?HOME is not set}"
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
PREFIX=${GPTSTUDIO_PREFIX:-$HOME/.local/opt/gptstudio}
BIN_DIR=${GPTSTUDIO_BIN_DIR:-$HOME/.local/bin}
RECORD_NAME=.gptstudio-install
SIZES="16 24 32 48 64 128 256 512"

[ -x "$HERE/gptstudio-gui" ] && [ -x "$HERE/gptstudio" ] && [ -f "$HERE/share/gptstudio.desktop.in" ] ||
    die "run this script from the unpacked GPT Studio folder (gptstudio-gui, gptstudio and share/ beside it)"
for path in "$PREFIX" "$DATA_HOME" "$BIN_DIR"; do
    case $path in
    /*) ;;
    *) die "'$path' is not an absolute path" ;;
    esac
    # the desktop entry format cannot carry these inside a path without escaping rules of its own
    case $path in
    *[\"\`\$\\%]* | *"
"*) die "'$path' contains a character a menu entry cannot hold (\" \` \$ \\ % or a line break)" ;;
    esac
done

# --- a previous install -----------------------------------------------------------------------
if [ -e "$PREFIX" ] && [ "$(cd "$PREFIX" && pwd -P)" != "$HERE" ]; then
    if [ -f "$PREFIX/$RECORD_NAME" ] && [ -f "$PREFIX/uninstall.sh" ]; then
        echo "Replacing the GPT Studio installed in $PREFIX"
        sh "$PREFIX/uninstall.sh" --quiet
    else
        die "$PREFIX exists and is not a GPT Studio install: remove it or set GPTSTUDIO_PREFIX"
    fi
fi

RECORD=$(mktemp "${TMPDIR:-/tmp}/gptstudio-install.XXXXXX")
rollback() {
    status=$?
    if [ "$status" -ne 0 ]; then
        echo "install.sh: failed; taking out what was installed so far" >&2
        sh "$HERE/uninstall.sh" --quiet --record "$RECORD" || true
    fi
    rm -f "$RECORD"
}
trap rollback EXIT
trap 'exit 130' INT TERM

# mkdir -p that records every folder it creates (parents first), so uninstall can remove them
make_dirs() {
    missing=""
    dir=$1
    while [ ! -d "$dir" ]; do
        missing="$dir
$missing"
        dir=$(dirname "$dir")
    done
    printf '%s' "$missing" | while IFS= read -r dir; do
        [ -n "$dir" ] || continue
        mkdir "$dir"
        echo "dir $dir" >>"$RECORD"
    done
}

put_file() { # put_file SOURCE TARGET: copy through a temporary name, then rename
    make_dirs "$(dirname "$2")"
    echo "file $2" >>"$RECORD"
    cp "$1" "$2.partial.$$"
    chmod 644 "$2.partial.$$"
    mv -f "$2.partial.$$" "$2"
}

# --- the program folder -----------------------------------------------------------------------
in_place=no
if [ "$HERE" = "$(cd "$PREFIX" 2>/dev/null && pwd -P)" ]; then
    # unpacked straight into its final place, or run again from the installed copy: keep what an
    # earlier run recorded (its folders stay ours), without the program folder itself, which a
    # failed run must not delete
    in_place=yes
    [ ! -f "$PREFIX/$RECORD_NAME" ] || grep -v '^app ' "$PREFIX/$RECORD_NAME" >>"$RECORD" || true
else
    make_dirs "$(dirname "$PREFIX")"
    echo "app $PREFIX" >>"$RECORD"
    rm -rf "$PREFIX.partial"
    cp -R "$HERE" "$PREFIX.partial"
    rm -f "$PREFIX.partial/$RECORD_NAME"
    mv "$PREFIX.partial" "$PREFIX"
fi

# --- menu entry, icons, "Open with" -----------------------------------------------------------
APPS="$DATA_HOME/applications"
CACHE="$APPS/mimeinfo.cache"
cache_existed=no
[ -e "$CACHE" ] && cache_existed=yes

escaped=$(printf '%s' "$PREFIX" | sed 's/[|&]/\\&/g')
entry_tmp="$RECORD.desktop"
sed "s|@APPDIR@|$escaped|g" "$PREFIX/share/gptstudio.desktop.in" >"$entry_tmp"
put_file "$entry_tmp" "$APPS/gptstudio.desktop"
rm -f "$entry_tmp"

ICON_ROOT="$DATA_HOME/icons/hicolor"
for size in $SIZES; do
    put_file "$PREFIX/share/icons/gptstudio-$size.png" "$ICON_ROOT/${size}x${size}/apps/gptstudio.png"
done
put_file "$PREFIX/share/icons/gptstudio.svg" "$ICON_ROOT/scalable/apps/gptstudio.svg"

# mimeinfo.cache is what file managers read for "Open with"
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$APPS" || echo "note: update-desktop-database failed; 'Open with' may need a new login"
    [ "$cache_existed" = yes ] || [ ! -e "$CACHE" ] || echo "cache $CACHE" >>"$RECORD"
fi
# a user-level icon cache, where one exists, must know the new icons
if [ -f "$ICON_ROOT/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -f -t "$ICON_ROOT" || true
fi

# --- the command line -------------------------------------------------------------------------
LINK="$BIN_DIR/gptstudio"
link_free=no
if [ -L "$LINK" ]; then
    [ "$(readlink "$LINK")" != "$PREFIX/gptstudio" ] || link_free=yes
elif [ ! -e "$LINK" ]; then
    link_free=yes
fi
if [ "$link_free" = yes ]; then
    make_dirs "$BIN_DIR"
    echo "link $LINK" >>"$RECORD"
    ln -sfn "$PREFIX/gptstudio" "$LINK"
else
    echo "note: $LINK belongs to another install and was left alone; the command is $PREFIX/gptstudio"
fi

[ "$in_place" = no ] || echo "app $PREFIX" >>"$RECORD"
cp "$RECORD" "$PREFIX/$RECORD_NAME.partial"
mv "$PREFIX/$RECORD_NAME.partial" "$PREFIX/$RECORD_NAME"

echo "GPT Studio is installed in $PREFIX and in your applications menu."
echo "Command line: $LINK"
case ":${PATH:-}:" in
*":$BIN_DIR:"*) ;;
*) echo "note: $BIN_DIR is not on your PATH; add it to run 'gptstudio' by name" ;;
esac
echo "To remove it: $PREFIX/uninstall.sh"
