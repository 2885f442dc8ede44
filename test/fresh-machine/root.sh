# Shared by run.sh and deb.sh (sourced, not run): a fresh Debian 12 machine
# made from a copy of the cached debootstrap minbase root, and a way to run
# steps inside it in a chroot with a mount namespace of its own.
#
# fresh_root_base CACHE MIRROR     the cached clean root (built once, about
#                                  70 s); sets FRESH_BASE
# fresh_root_copy BASE ROOT KEEP   copy the untouched root; on exit, end what
#                                  runs in it and remove it (unless KEEP=yes)
# fresh_root_machine ROOT MIRROR   what a fresh machine has besides minbase
# fresh_root_run ROOT STEPS [VAR=VALUE ...]
#                                  bash -euo pipefail -c STEPS inside, with a
#                                  clean environment plus the given variables

fresh_root_base() {
  local cache=$1 mirror=$2
  FRESH_BASE=$cache/bookworm-minbase
  [ -f "$FRESH_BASE/.junction-base-complete" ] && return 0
  command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  echo "fresh-machine: debootstrap --variant=minbase bookworm (cached in $FRESH_BASE)" >&2
  mkdir -p "$cache"
  rm -rf "$FRESH_BASE.tmp"
  debootstrap --variant=minbase bookworm "$FRESH_BASE.tmp" "$mirror" > "$cache/debootstrap.log" 2>&1 || {
    tail -20 "$cache/debootstrap.log" >&2
    return 1
  }
  touch "$FRESH_BASE.tmp/.junction-base-complete"
  rm -rf "$FRESH_BASE"
  mv "$FRESH_BASE.tmp" "$FRESH_BASE"
}

fresh_root_copy() {
  local base=$1
  FRESH_ROOT=$2
  FRESH_ROOT_KEEP=$3
  cp -a "$base" "$FRESH_ROOT"
  trap fresh_root_cleanup EXIT
}

fresh_root_cleanup() {
  # Processes left in the root (none expected) are ours: end them by pid.
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$FRESH_ROOT" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
  done
  # The mounts lived in the run's private mount namespace, so the root is a
  # plain directory again here.
  if [ "$FRESH_ROOT_KEEP" = yes ]; then echo "fresh-machine: kept $FRESH_ROOT"; else rm -rf --one-file-system "$FRESH_ROOT"; fi
}

fresh_root_machine() {
  local root=$1 mirror=$2
  # The full apt sources (updates and security) and a resolver.
  cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SOURCES
  # This machine's clock and its Debian mirror's Release dates may disagree.
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' > "$root/etc/apt/apt.conf.d/99fresh-machine-dates"
  # Package scripts must not start daemons: they would run in this machine's
  # network namespace (a chroot is not a container).
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
}

fresh_root_run() {
  local root=$1 steps=$2
  shift 2
  unshare -m --propagation private bash -c '
    set -e
    root=$1; steps=$2; shift 2
    # "/" must be a mount point inside: `ip netns exec` runs
    # `mount --make-rslave /`, which fails on a plain directory.
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/run"
    mount -t tmpfs tmpfs "$root/tmp"
    exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      "$@" bash -euo pipefail -c "$steps"
  ' fresh-machine "$root" "$steps" "$@"
}
