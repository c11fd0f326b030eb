#!/usr/bin/env bash
# Install the NN Designer bundle with its menu entry, icons and the .nnd file type, for one user (default,
# into ~/.local) or under any prefix (e.g. sudo ./install.sh --prefix /usr/local).
#
#   install.sh [--prefix DIR] [--uninstall] [BUNDLE]
#
# BUNDLE is the one-folder bundle (the folder holding the `nn-designer` executable). Default: the folder
# above this script when it ships inside the bundle (nn-designer/linux/install.sh), else dist/nn-designer
# of the source tree (packaging/linux/install.sh).
#
# Puts the bundle in PREFIX/lib/nn-designer, a link PREFIX/bin/nn-designer, the desktop file in
# PREFIX/share/applications, icons in PREFIX/share/icons/hicolor, the MIME type in PREFIX/share/mime;
# then refreshes the desktop's caches with update-mime-database, update-desktop-database,
# gtk-update-icon-cache, xdg-desktop-menu and xdg-mime where they are installed (each is optional).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prefix="${XDG_DATA_HOME:-$HOME/.local/share}"
prefix="${prefix%/share}"
uninstall=0
bundle=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --uninstall) uninstall=1; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) bundle="$1"; shift ;;
    esac
done
prefix=$(mkdir -p "$prefix" && cd "$prefix" && pwd)
share="$prefix/share"
user_install=0
[ "$share" = "$(cd "${XDG_DATA_HOME:-$HOME/.local/share}" 2>/dev/null && pwd || echo none)" ] && user_install=1

have() { command -v "$1" >/dev/null 2>&1; }

refresh() {
    # Every tool is optional: without them the files still take effect at the next login.
    if have update-mime-database; then update-mime-database "$share/mime"; fi
    if have update-desktop-database; then update-desktop-database -q "$share/applications" || true; fi
    if have gtk-update-icon-cache; then gtk-update-icon-cache -q -t -f "$share/icons/hicolor" || true; fi
    if [ "$user_install" = 1 ] && have xdg-desktop-menu; then xdg-desktop-menu forceupdate --mode user || true; fi
}

icon_sizes="16 22 24 32 48 64 128 256 512"
mime_icon="application-vnd.nn-designer+zip"  # the icon name shared-mime-info derives from the type

if [ "$uninstall" = 1 ]; then
    rm -rf "$prefix/lib/nn-designer"
    rm -f "$prefix/bin/nn-designer" "$share/applications/nn-designer.desktop" \
          "$share/mime/packages/nn-designer-mime.xml" "$share/icons/hicolor/scalable/apps/nn-designer.svg"
    for size in $icon_sizes; do
        rm -f "$share/icons/hicolor/${size}x${size}/apps/nn-designer.png" \
              "$share/icons/hicolor/${size}x${size}/mimetypes/$mime_icon.png"
    done
    [ -d "$share/mime" ] && refresh
    echo "install.sh: removed NN Designer from $prefix"
    exit 0
fi

if [ -z "$bundle" ]; then
    if [ -x "$here/../nn-designer" ]; then bundle="$here/.."; else bundle="$here/../../dist/nn-designer"; fi
fi
if [ ! -x "$bundle/nn-designer" ]; then
    echo "install.sh: no bundle at $bundle (expected the executable $bundle/nn-designer);" \
         "build one with packaging/build.sh or name its folder" >&2
    exit 2
fi
bundle=$(cd "$bundle" && pwd)
icons="$bundle/_internal/resources/icons/app"
[ -d "$icons" ] || icons="$here/../../resources/icons/app"

# The bundle: replace any older copy whole, so no stale library of a previous version is left behind.
target="$prefix/lib/nn-designer"
mkdir -p "$prefix/lib" "$prefix/bin"
if [ "$bundle" != "$target" ]; then
    rm -rf "$target.new"
    cp -a "$bundle" "$target.new"
    rm -rf "$target"
    mv "$target.new" "$target"
fi
ln -sfn "$target/nn-designer" "$prefix/bin/nn-designer"

# The menu entry runs the installed executable by its full path: a desktop session's PATH often lacks
# ~/.local/bin.
mkdir -p "$share/applications"
sed -e "s|^Exec=nn-designer|Exec=$target/nn-designer|" -e "s|^TryExec=nn-designer|TryExec=$target/nn-designer|" \
    "$here/nn-designer.desktop" > "$share/applications/nn-designer.desktop"
chmod 644 "$share/applications/nn-designer.desktop"

for size in $icon_sizes; do
    for context in apps mimetypes; do
        mkdir -p "$share/icons/hicolor/${size}x${size}/$context"
    done
    install -m 644 "$icons/nn-designer-$size.png" "$share/icons/hicolor/${size}x${size}/apps/nn-designer.png"
    install -m 644 "$icons/nn-designer-$size.png" "$share/icons/hicolor/${size}x${size}/mimetypes/$mime_icon.png"
done
mkdir -p "$share/icons/hicolor/scalable/apps"
install -m 644 "$icons/nn-designer.svg" "$share/icons/hicolor/scalable/apps/nn-designer.svg"

mkdir -p "$share/mime/packages"
install -m 644 "$here/nn-designer-mime.xml" "$share/mime/packages/nn-designer-mime.xml"

refresh
# Make NN Designer the default application for .nnd files of this user (file managers, xdg-open).
if [ "$user_install" = 1 ] && have xdg-mime; then
    xdg-mime default nn-designer.desktop application/vnd.nn-designer+zip || true
fi

echo "install.sh: installed $("$target/nn-designer" --version 2>/dev/null || echo "NN Designer") into $prefix"
echo "install.sh: run it as $prefix/bin/nn-designer, from the application menu, or by opening an .nnd file"
