#!/usr/bin/env bash
# Build the one-folder bundle dist/nn-designer/ (executable dist/nn-designer/nn-designer) and the archive
# dist/nn-designer-<version>-<os>-<arch>.tar.gz; print the build time and the sizes. `make package` calls this.
# Extra arguments go to PyInstaller (e.g. --clean to ignore its cache). PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' designer/__init__.py)
os=$(uname -s | tr '[:upper:]' '[:lower:]')
arch=$(uname -m)
archive="dist/nn-designer-${version}-${os}-${arch}.tar.gz"

"$PYTHON" -c "import PyInstaller" 2>/dev/null || {
    echo "build.sh: PyInstaller is missing: $PYTHON -m pip install -c constraints.txt -e '.[package]'" >&2
    exit 2
}

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/nn-designer.spec "$@"
built=$(date +%s)

# The Linux installer and its desktop files travel inside the bundle (nn-designer/linux/install.sh).
if [ "$os" = linux ]; then
    mkdir -p dist/nn-designer/linux
    cp packaging/linux/install.sh packaging/linux/nn-designer.desktop packaging/linux/nn-designer-mime.xml \
        dist/nn-designer/linux/
fi

rm -f "$archive"
# pigz uses every core when it is there; plain gzip otherwise.
if command -v pigz >/dev/null; then compress="pigz -6"; else compress="gzip -6"; fi
tar -C dist -cf - nn-designer | $compress > "$archive"
end=$(date +%s)

echo "build.sh: bundle   dist/nn-designer/ $(du -sh dist/nn-designer | cut -f1)" \
     "($(find dist/nn-designer -type f | wc -l) files), built in $((built - start)) s"
echo "build.sh: archive  $archive $(du -sh "$archive" | cut -f1), written in $((end - built)) s"
echo "build.sh: largest parts:"
set +o pipefail  # head closes the pipe early on purpose
du -s dist/nn-designer/_internal/* | sort -rn | head -8 | awk '{printf "  %7.1f MiB  %s\n", $1/1024, $2}'
