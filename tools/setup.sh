#!/usr/bin/env bash
# Set up a machine to build and test Keypool, then build it (README "Build").
#
#   bash tools/setup.sh
#
# 1. Chromium for the end-to-end tests: $KEYPOOL_CHROMIUM, Debian's
#    /usr/lib/chromium/chromium, or `chromium` on PATH. When there is none and
#    apt-get is there (Debian, as root or with sudo): apt-get install chromium.
#    Anywhere else it prints one line saying what to install, and goes on.
# 2. Python: .venv (python3.11) with the project and its test dependencies.
# 3. node packages: `npm ci` installs the bundler that package-lock.json pins.
# 4. python build.py.
# Each step is skipped when it has nothing to do; running it again is safe.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${KEYPOOL_PYTHON:-python3.11}
# Where Debian's package puts the real binary (tests/e2e/conftest.py looks there too).
CHROMIUM_PATHS=${KEYPOOL_CHROMIUM_PATHS:-/usr/lib/chromium/chromium}

say() { echo "setup: $*"; }

as_root() {  # run a command as root: directly, or through sudo
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        return 1
    fi
}

can_apt() {
    command -v apt-get >/dev/null 2>&1 && { [[ $(id -u) -eq 0 ]] || command -v sudo >/dev/null 2>&1; }
}

apt_updated=""
apt_install() {  # apt_install PACKAGE...: Debian packages, one `apt-get update` per run
    if [[ -z $apt_updated ]]; then
        as_root apt-get update
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

find_chromium() {
    if [[ -n ${KEYPOOL_CHROMIUM:-} ]]; then
        [[ -x $KEYPOOL_CHROMIUM ]] && echo "$KEYPOOL_CHROMIUM"
        return
    fi
    local path
    for path in $CHROMIUM_PATHS; do
        if [[ -x $path ]]; then
            echo "$path"
            return
        fi
    done
    command -v chromium 2>/dev/null || true
}

# 1. Chromium
if [[ -n ${KEYPOOL_CHROMIUM:-} && ! -x $KEYPOOL_CHROMIUM ]]; then
    echo "setup: error: KEYPOOL_CHROMIUM=$KEYPOOL_CHROMIUM is not an executable file" >&2
    exit 1
fi
chromium=$(find_chromium)
if [[ -z $chromium ]]; then
    if can_apt; then
        say "no Chromium found: installing Debian's chromium package"
        apt_install chromium
        chromium=$(find_chromium)
    else
        say "no Chromium found: install Chromium, or set KEYPOOL_CHROMIUM=/path/to/chromium, before running the end-to-end tests"
    fi
fi
[[ -n $chromium ]] && say "Chromium: $chromium"

# 2. Python
if [[ ! -x .venv/bin/python ]]; then
    if ! "$PYTHON" -c "import ensurepip" >/dev/null 2>&1 && can_apt; then
        say "$PYTHON has no venv support: installing Debian's ${PYTHON}-venv package"
        apt_install "${PYTHON}-venv"
    fi
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e '.[test]'

# 3. node packages (the bundler)
if ! command -v npm >/dev/null 2>&1 && can_apt; then
    say "npm not found: installing Debian's npm package"
    apt_install npm
fi
npm ci --no-audit --no-fund

# 4. the build
.venv/bin/python build.py
