#!/bin/sh
# Remove GPT Studio as install.sh put it in: the program folder, the menu entry and icons, the
# "Open with" registration, the `gptstudio` link, and every folder install.sh had to create.
# It reads the record install.sh left in the program folder (.gptstudio-install), so it removes
# exactly those files and nothing else.
#
# Your pictures are never touched. Models, settings, autosaves and logs live in your user folders
# (Help > About names them) and stay, so a reinstall finds them; delete those folders by hand to
# remove them too.
#
#   ./uninstall.sh [--quiet]
set -eu

die() {
    echo "uninstall.sh: $*" >&2
    exit 1
}

HERE=$(cd "$(dirname "$0")" && pwd -P)
RECORD="$HERE/.gptstudio-install"
QUIET=no
while [ $# -gt 0 ]; do
    case $1 in
    --quiet) QUIET=yes ;;
    --record) # install.sh's rollback: the record of a run that did not finish
        shift
        RECORD=${1:?--record needs a file}
        ;;
    *) die "unknown option '$1' (usage: uninstall.sh [--quiet])" ;;
    esac
    shift
done
[ -f "$RECORD" ] || die "no install record ($RECORD): this folder was not installed by install.sh"

say() { [ "$QUIET" = yes ] || echo "$@"; }

# read it all first: the record lives in the folder that is about to go
entries=$(cat "$RECORD")

remove_listed() { # remove_listed KIND: every recorded path of that kind
    printf '%s\n' "$entries" | while IFS= read -r line; do
        [ "${line%% *}" = "$1" ] || continue
        path=${line#* }
        case $1 in
        file | link)
            if [ -e "$path" ] || [ -L "$path" ]; then
                rm -f "$path"
                say "removed $path"
            fi
            ;;
        app)
            # only a folder that is a GPT Studio program folder, never a home or the root
            if [ -d "$path" ] && [ -x "$path/gptstudio-gui" ] && [ "$path" != "/" ] && [ "$path" != "$HOME" ]; then
                rm -rf "$path"
                say "removed $path"
            fi
            ;;
        esac
    done
}

remove_listed file
remove_listed link

# "Open with": rebuild the MIME cache of the menu folder, so it no longer offers GPT Studio...
printf '%s\n' "$entries" | sed -n 's|^file \(.*\)/gptstudio\.desktop$|\1|p' | sort -u | while IFS= read -r apps; do
    if [ -f "$apps/mimeinfo.cache" ] && command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$apps" || true
    fi
done
# ...and drop the cache where install.sh made it and nothing else is registered in it now
printf '%s\n' "$entries" | sed -n 's/^cache //p' | while IFS= read -r cache; do
    if [ -f "$cache" ] && ! grep -q '=' "$cache"; then
        rm -f "$cache"
        say "removed $cache"
    fi
done

printf '%s\n' "$entries" | sed -n 's|^file \(.*/icons/hicolor\)/.*|\1|p' | sort -u | while IFS= read -r root; do
    if [ -f "$root/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -f -t "$root" || true
    fi
done

remove_listed app

# the folders install.sh created, deepest (last created) first, where nothing else lives now
printf '%s\n' "$entries" | sed -n 's/^dir //p' | awk '{ line[NR] = $0 } END { for (i = NR; i > 0; i--) print line[i] }' |
    while IFS= read -r dir; do
        if [ -d "$dir" ] && rmdir "$dir" 2>/dev/null; then
            say "removed $dir"
        fi
    done

say "GPT Studio is uninstalled. Your models, settings and logs were kept in your user folders."
