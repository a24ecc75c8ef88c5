#!/usr/bin/env bash
# Installs what zk-ha's demo, tests and benchmarks need on a fresh Debian machine, or stops with
# a message naming exactly what is missing and how to get it. Idempotent and quiet when all is there.
#   --peers   also install the peers the failover benchmark measures against (Curator, kazoo, a JDK)
#   --ops     also install what the operator tests use: HAProxy and Chromium (Debian's packages)
set -euo pipefail
cd "$(dirname "$0")/.."

want_peers=0
want_ops=0
for a in "$@"; do
  [ "$a" = "--peers" ] && want_peers=1
  [ "$a" = "--ops" ] && want_ops=1
done

say() { echo "[zk-ha setup] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge 20 ] || die "Node.js >= 20 is required (found $(node --version 2>/dev/null || echo none)). Install it: apt-get install nodejs (Debian 13) or from nodejs.org."

apt_pkgs=()
if [ -z "${ZK_CONNECT:-}" ]; then
  if [ -n "${ZK_HOME:-}" ]; then
    ls "$ZK_HOME"/lib/zookeeper-*.jar >/dev/null 2>&1 || ls "$ZK_HOME"/zookeeper-*.jar >/dev/null 2>&1 \
      || die "ZK_HOME=$ZK_HOME holds no zookeeper-*.jar; unset ZK_HOME to use Debian's package (apt-get install zookeeper)."
  else
    [ -f /usr/share/java/zookeeper.jar ] || apt_pkgs+=(zookeeper)
    [ -f /usr/share/java/slf4j-simple.jar ] || apt_pkgs+=(libslf4j-java)
  fi
  command -v java >/dev/null 2>&1 || apt_pkgs+=(default-jre-headless)
fi
if [ "$want_peers" = 1 ]; then
  ls /usr/share/java/curator-recipes*.jar >/dev/null 2>&1 || apt_pkgs+=(libcurator-recipes-java libcurator-framework-java libcurator-client-java)
  # Debian's python3 (a pyenv shim first on PATH would not see python3-kazoo).
  /usr/bin/python3 -c 'import kazoo' >/dev/null 2>&1 || apt_pkgs+=(python3-kazoo)
  command -v javac >/dev/null 2>&1 || apt_pkgs+=(default-jdk-headless)
fi

if [ "$want_ops" = 1 ]; then
  [ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || apt_pkgs+=(haproxy)
  [ -x /usr/bin/chromium ] || apt_pkgs+=(chromium)
fi

if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "missing Debian package(s): ${apt_pkgs[*]}. Install them as root: apt-get update && apt-get install -y ${apt_pkgs[*]}  (or point ZK_HOME at a ZooKeeper 3.8 install, or ZK_CONNECT at a running ensemble)"
  fi
  say "installing Debian package(s): ${apt_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed; install by hand: apt-get install -y ${apt_pkgs[*]}"
  apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null || die "apt-get install failed; install by hand: apt-get install -y ${apt_pkgs[*]}"
fi

# npm dependencies: install when absent or older than the lock file. Always `npm ci`: it installs
# exactly the committed lock and never rewrites it, so the README's commands leave `git status` clean.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2 \
    || die "npm ci failed; check that the npm registry is reachable and that package-lock.json matches package.json (the lock is never rewritten here)."
fi
