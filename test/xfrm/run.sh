#!/usr/bin/env bash
# `npm run test:xfrm`: the VPN on the kernel data plane (XFRM ESP, an XFRM
# interface), which this machine's kernel lacks (design/platform.md). Boots
# Debian's kernel under qemu TCG (functional, not fast) on a root shared over
# 9p: the cached guest root (guest-root.sh) copied for this run, with this
# machine's Node binary and this checkout (built dist/, node_modules, tests)
# in /junction. Inside, guest.sh runs the VPN lab tests with
# JUNCTION_EXPECT_DATAPLANE=xfrm: `junction serve` and an on-prem charon in
# lab namespaces of the guest. Results come back in the run's root and on the
# serial log, which this prints as it goes. qemu is killed by its pid on any
# exit and the run's root is removed.
#
# usage: sudo test/xfrm/run.sh [--bench|--bench-only] [--keep] [-t PATTERN] [TEST_FILE ...]
#   --bench   also run `npm run bench -- ipsec` once in the guest (1 round, function only)
#   --bench-only  that alone, no test files
#   --keep    keep the run's root and serial log for a look
#   -t PATTERN  only the tests whose name matches (vitest -t); the VPN files'
#             tests build on each other, so a filter suits a file's first tests
#   TEST_FILE lab test files to run (default: vpn-site and vpn-fail-closed)
# env: XFRM_TIMEOUT_S (whole guest run, default 2400), XFRM_TEST_LIMIT_S (per
# test file, default 1500), CACHE, DEBIAN_MIRROR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$repo/test/fresh-machine/root.sh"
. "$here/guest-root.sh"

bench=no
bench_only=no
keep=no
filter=
tests=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) bench=yes ;;
    --bench-only) bench=yes; bench_only=yes ;;
    --keep) keep=yes ;;
    -t) [ $# -ge 2 ] || { echo "xfrm: -t needs a pattern" >&2; exit 2; }; filter=$2; shift ;;
    -*) echo "xfrm: unknown option $1" >&2; exit 2 ;;
    *) tests+=("$1") ;;
  esac
  shift
done
[ ${#tests[@]} -gt 0 ] || [ "$bench_only" = yes ] || tests=(test/lab/vpn-site.test.ts test/lab/vpn-fail-closed.test.ts)
[ "$(id -u)" = 0 ] || { echo "xfrm: needs root (debootstrap, chroot, 9p passthrough)" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "xfrm: qemu-system-x86_64 is missing: run bash appliance/scripts/setup.sh --xfrm" >&2; exit 2; }
[ -f "$repo/dist/appliance/cli.js" ] || { echo "xfrm: no build in $repo/dist: run npm run build" >&2; exit 2; }
timeout_s=${XFRM_TIMEOUT_S:-2400}
test_limit_s=${XFRM_TEST_LIMIT_S:-1500}
cache=${CACHE:-/var/cache/junction-fresh}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
started=$(date +%s)

xfrm_guest_root "$cache" "$mirror" "$repo"

run=$cache/runs/xfrm-$(date -u +%Y%m%dT%H%M%SZ)-$$
qemu_pid=
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    echo "xfrm: stopping qemu (pid $qemu_pid)"
    kill "$qemu_pid" 2>/dev/null || true
    sleep 2
    kill -9 "$qemu_pid" 2>/dev/null || true
  fi
  if [ "$keep" = yes ]; then echo "xfrm: kept $run"; else rm -rf --one-file-system "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$run"
root=$run/root
cp -a "$XFRM_GUEST/root" "$root"

# Node 20 (bookworm's nodejs is 18) and this checkout, as built
install -D -m 755 "$(readlink -f "$(command -v node)")" "$root/usr/local/bin/node"
mkdir -p "$root/junction"
tar -C "$repo" --exclude=./.git --exclude=./node_modules -cf - . | tar -C "$root/junction" -xf -
cp -a "$(readlink -f "$repo/node_modules")" "$root/junction/node_modules"
# the guest's side: init (busybox init reaps orphans) and the steps
mkdir -p "$root/xfrm/out"
cp "$root/opt/xfrm-guest/busybox" "$root/xfrm/busybox"
install -m 755 "$here/guest.sh" "$root/xfrm/guest.sh"
echo '::sysinit:/bin/sh /xfrm/guest.sh' > "$root/etc/inittab"
cat > "$root/xfrm/env" <<ENV
XFRM_TESTS='${tests[*]}'
XFRM_FILTER='${filter//\'/}'
XFRM_TEST_LIMIT_S=$test_limit_s
XFRM_BENCH=$bench
XFRM_BENCH_LIMIT_S=$test_limit_s
ENV

log=$run/serial.log
: > "$log"
echo "xfrm: booting $(basename "$XFRM_GUEST") under qemu TCG (at most $timeout_s s): ${tests[*]}${filter:+ (-t $filter)}$([ "$bench" = yes ] && echo ' + bench ipsec')"
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 4096 -machine q35 \
  -kernel "$XFRM_GUEST/vmlinuz" -initrd "$XFRM_GUEST/initrd.gz" \
  -append "console=ttyS0 panic=1 loglevel=4" \
  -virtfs "local,path=$root,mount_tag=root,security_model=passthrough" \
  -nic none -display none -monitor none -serial "file:$log" -no-reboot &
qemu_pid=$!
tail -n +1 -f --pid="$qemu_pid" "$log" &
deadline=$(( $(date +%s) + timeout_s ))
timed_out=no
while kill -0 "$qemu_pid" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then timed_out=yes; break; fi
  sleep 2
done
[ "$timed_out" = yes ] || wait "$qemu_pid" || true
sleep 1

# the verdict: every step ran and exited 0
echo
echo "xfrm: results (step, exit, seconds), whole run $(( $(date +%s) - started )) s:"
failed=no
results=$root/xfrm/out/results
[ -f "$results" ] && sed 's/^/  /' "$results"
expected=(probe)
for t in "${tests[@]}"; do expected+=("$(basename "$t" .test.ts)"); done
[ "$bench" = yes ] && expected+=(bench-ipsec)
for name in "${expected[@]}"; do
  rc=$(awk -v n="$name" '$1 == n { print $2 }' "$results" 2>/dev/null)
  if [ -z "$rc" ]; then echo "xfrm: $name did not finish"; failed=yes
  elif [ "$rc" != 0 ]; then echo "xfrm: $name FAILED (exit $rc; log above)"; failed=yes; fi
done
[ "$timed_out" = yes ] && { echo "xfrm: the guest did not finish within $timeout_s s"; failed=yes; }
if [ "$bench" = yes ]; then
  # function only (TCG emulates AES): the result line must say xfrm and have measured Junction's leg
  line=$(grep -h '^{"bench":"ipsec"' "$root/xfrm/out/bench-ipsec.log" 2>/dev/null | tail -1)
  if ! node -e '
    const r = JSON.parse(process.argv[1] || "null");
    if (!r) { console.log("xfrm: bench ipsec wrote no result line"); process.exit(1); }
    const pick = ["dataplane", "mbps_plain_1", "mbps_stock_1", "mbps_stockfw_1", "mbps_junction_1", "ratio_vs_stock", "ratio_vs_plain", "tunnels1_s", "tunnels50_s", "junction_error"];
    console.log("xfrm: bench ipsec in the guest (function only, TCG):", JSON.stringify(Object.fromEntries(pick.map((k) => [k, r[k]]))));
    process.exit(r.dataplane === "xfrm" && !r.junction_error ? 0 : 1);' "$line"; then
    echo "xfrm: bench ipsec did not run on the kernel data plane with a measured Junction leg"
    failed=yes
  fi
fi
if [ "$failed" = yes ]; then
  # the steps' logs (and Junction's and charon's) outlive the run's root
  cp -a "$root/xfrm/out" "$run.out" 2>/dev/null && echo "xfrm: logs kept in $run.out"
  echo "xfrm: FAILED"
  exit 1
fi
echo "xfrm: PASSED: every step ran on the kernel data plane (dataplane xfrm)"
