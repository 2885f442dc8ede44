#!/usr/bin/env bash
# `npm run test:images`: builds the images with podman from the unchanged
# Dockerfiles (router, lab host, on-prem gateway), brings up compose.yaml
# (Debian's docker-compose 1.29 against podman's Docker API), and checks with
# traffic between the containers: fail-closed before the first commit,
# interfaces selected by subnet, NAT egress, inter-VPC policy, a port
# forward, an IPsec tunnel to the on-prem strongSwan with TCP through it,
# and the API's health. Everything it creates (containers, networks,
# volumes, the per-run image tags, the API service) is removed on every exit,
# failed or interrupted. Needs root; installs podman, runc,
# docker-compose and debootstrap when missing (design/containers.md says why
# each, on a machine like this one: no registry for base images, hybrid
# cgroups, fixed ulimits).
#
# Base images cannot be pulled here, so local stand-ins are made once:
# debian:12-slim from a debootstrap minbase root (the fresh-machine cache),
# node:20-bookworm-slim from it plus this machine's Node 20, npm and headers
# laid out as the official image does. Both carry this machine's CA bundle
# (its egress presents its own CA) and the Node image points npm at Node's
# headers (better-sqlite3 compiles from source: no prebuilt download).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
[ "$(id -u)" = 0 ] || { echo "test:images: needs root (rootful podman)" >&2; exit 2; }
# What this needs beyond setup.sh, installed by this script itself (a fresh
# machine has none of it).
missing=()
for package in podman runc docker-compose debootstrap; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test:images: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

project=junction-images-$$
work=$(mktemp -d /tmp/junction-images.XXXXXX)
# Tags of this run's own, which compose.yaml takes from the environment: a
# run that builds other code at the same time cannot swap them. Each build
# is also tagged :latest, which keeps its layers as the next run's cache
# (removing an image's last tag would delete them).
export ROUTER_IMAGE=localhost/junction:$project HOST_IMAGE=localhost/junction-lab-host:$project ONPREM_IMAGE=localhost/junction-lab-onprem:$project
export CONTAINERS_CONF=$work/containers.conf
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
service_pid=
started=$(date +%s)
step() { echo "test:images: [$(( $(date +%s) - started ))s] $*"; }
failures=0
check() { # check NAME COMMAND...: one traffic or API expectation
  local name=$1; shift
  if "$@" >"$work/check.log" 2>&1; then echo "  ok   $name"; else echo "  FAIL $name"; grep -v '^\s*$' "$work/check.log" | sed 's/^/       /' | head -12; failures=$((failures + 1)); fi
}
refuse() { local name=$1; shift; check "$name" not "$@"; }
not() { ! "$@"; }

cleanup() {
  set +e
  trap - EXIT INT TERM
  if [ -n "$service_pid" ]; then
    DOCKER_HOST=unix://$work/podman.sock timeout 60 docker-compose -p "$project" down -v --timeout 5 >/dev/null 2>&1
    kill "$service_pid" 2>/dev/null; wait "$service_pid" 2>/dev/null
  fi
  # Whatever compose could not remove (it failed half way, or never ran),
  # and the containers this script ran itself: all named after the project.
  for c in $(podman ps -a --format '{{.Names}}' | grep "^${project}[_-]"); do podman rm -f -t 2 "$c" >/dev/null 2>&1; done
  for n in $(podman network ls --format '{{.Name}}' | grep "^${project}_"); do podman network rm -f "$n" >/dev/null 2>&1; done
  for v in $(podman volume ls --format '{{.Name}}' | grep "^${project}_"); do podman volume rm -f "$v" >/dev/null 2>&1; done
  # this run's tags only: the images stay, as :latest, for the next run's cache
  for tag in "$ROUTER_IMAGE" "$HOST_IMAGE" "$ONPREM_IMAGE"; do podman untag "$tag" "$tag" >/dev/null 2>&1; done
  left=$( (podman ps -a --format '{{.Names}}'; podman network ls --format '{{.Name}}'; podman volume ls --format '{{.Name}}') | grep -c "^${project}[_-]")
  [ "$left" = 0 ] || echo "test:images: cleanup left $left containers/networks/volumes of $project" >&2
  rm -rf "$work"
}
trap cleanup EXIT
# an interrupted run cleans up too (bash runs the EXIT trap on exit)
trap 'exit 130' INT TERM

# 1. Stand-in base images (once; kept in podman's storage).
if ! podman image exists localhost/debian:12-slim; then
  step "the cached debootstrap root (made once, about 70 s, shared with test/fresh-machine)"
  base=$(bash test/fresh-machine/cached-base.sh)
  step "debian:12-slim from $base"
  mkdir -p "$work/debian"
  tar -C "$base" --exclude=./.junction-base-complete -c . | podman import - localhost/debian:12-slim-raw >/dev/null
  cp /etc/ssl/certs/ca-certificates.crt "$work/debian/ca.crt"
  printf 'FROM localhost/debian:12-slim-raw\nCOPY ca.crt /etc/ssl/certs/ca-certificates.crt\nCMD ["bash"]\n' > "$work/debian/Containerfile"
  podman build -q --pull=never -t localhost/debian:12-slim "$work/debian" >/dev/null
fi
if ! podman image exists localhost/node:20-bookworm-slim; then
  step "node:20-bookworm-slim from debian:12-slim and this machine's Node $(node --version)"
  ctx=$work/node
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules" "$ctx/usr/local/include"
  cp "$(readlink -f "$(command -v node)")" "$ctx/usr/local/bin/node"
  npm_root=$(npm root -g)
  cp -r "$npm_root/npm" "$ctx/usr/local/lib/node_modules/npm"
  cp -r "$(dirname "$(readlink -f "$(command -v node)")")/../include/node" "$ctx/usr/local/include/node"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  cat > "$ctx/Containerfile" <<'CF'
FROM localhost/debian:12-slim
COPY usr /usr
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm_config_nodedir=/usr/local
CMD ["node"]
CF
  podman build -q --pull=never -t localhost/node:20-bookworm-slim "$ctx" >/dev/null
fi

# 2. The project's images, from the unchanged Dockerfiles (docker format:
# OCI images drop HEALTHCHECK).
t0=$(date +%s)
step "building images/router"
podman build -q --pull=never --format docker -f images/router/Dockerfile -t "$ROUTER_IMAGE" -t localhost/junction:latest . >/dev/null
t1=$(date +%s)
step "building images/host"
podman build -q --pull=never --format docker -t "$HOST_IMAGE" -t localhost/junction-lab-host:latest images/host >/dev/null
t2=$(date +%s)
step "building images/onprem"
podman build -q --pull=never --format docker -t "$ONPREM_IMAGE" -t localhost/junction-lab-onprem:latest images/onprem >/dev/null
t2b=$(date +%s)
echo "test:images: router image $((t1 - t0)) s, host image $((t2 - t1)) s, on-prem image $((t2b - t2)) s; router $(podman image inspect "$ROUTER_IMAGE" --format '{{.Size}}' | awk '{ printf "%d MB", $1 / 1e6 }')"

# What the router image ships: no tests, no sources, no golden files, no maps.
step "router image contents"
check "ships no test/, .ts sources, golden files or source maps" sh -c \
  "! podman run --rm --name $project-contents --entrypoint sh $ROUTER_IMAGE -c 'find /opt/junction -path /opt/junction/node_modules -prune -o \( -name \"*.ts\" -o -name \"*.map\" -o -name golden -o -name test \) -print' | grep ."
check "procps and tini are in the image" podman run --rm --name "$project-tools" --entrypoint sh "$ROUTER_IMAGE" -c 'command -v sysctl && test -x /usr/bin/tini'

# /proc/sys is read-only in a container: without the runtime's sysctls a
# commit is rejected naming the entries to add (here: no sysctls given).
step "a router container without the sysctls"
podman run --rm --name "$project-nosysctls" --cap-add NET_ADMIN --cap-add NET_RAW --network none \
  --entrypoint sh "$ROUTER_IMAGE" -c '
    node /opt/junction/dist/appliance/cli.js serve --state-dir /var/lib/junction --listen 127.0.0.1:8080 2>/dev/null &
    for i in $(seq 100); do [ -S /var/lib/junction/api.sock ] && break; sleep 0.2; done
    # no interfaces to select here (--network none): the smallest document
    printf "interfaces: []\nzones: []\n" > /tmp/empty.yaml
    junction apply -f /tmp/empty.yaml' >"$work/no-sysctls.log" 2>&1 || true
check "the commit is rejected naming the compose sysctls entries" grep -q 'compose `sysctls: { net.ipv6.conf.all.forwarding: \\"1\\"' "$work/no-sysctls.log"

# 3. compose up against podman's Docker API.
podman system service --time=0 "unix://$work/podman.sock" >"$work/service.log" 2>&1 &
service_pid=$!
export DOCKER_HOST=unix://$work/podman.sock
for _ in $(seq 50); do [ -S "$work/podman.sock" ] && break; sleep 0.1; done
step "docker-compose -p $project up"
t3=$(date +%s)
docker-compose -p "$project" up -d --no-build >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }
dc() { docker-compose -p "$project" exec -T "$@"; }
for _ in $(seq 60); do dc router junction status >/dev/null 2>&1 && break; sleep 0.5; done
echo "test:images: compose up and the API answering in $(( $(date +%s) - t3 )) s"

# an iperf3 server for one client, logging who connected
listen() { dc -d "$1" iperf3 -s -1 -p "$2" --logfile "/tmp/iperf-$2.log" >/dev/null 2>&1 || true; sleep 0.5; }
peer_was() { dc "$1" grep -q "Accepted connection from $3," "/tmp/iperf-$2.log"; }
# iperf3 -J exits 0 even when it could not connect: its JSON says so
connect() { local out; out=$(dc "$1" timeout 5 iperf3 -c "$2" -p "$3" -t 1 -J) && ! grep -q '"error":' <<<"$out"; }
check "the API's health over the socket (the image's HEALTHCHECK)" podman healthcheck run "$(docker-compose -p "$project" ps -q router)"
check "no revision: the fail-closed table is in place" dc router nft list table inet junction_fail_closed
# a1 -> b1 crosses only the router (both VPCs are its own, and b1 routes back
# through it), and the runtime turned forwarding on: only the table stops it.
refuse "no revision: a1 does not reach b1 across the router" dc a1 ping -c 1 -W 2 10.2.0.11
check "control: with the fail-closed table deleted by hand, a1 reaches b1" sh -c "
  docker-compose -p $project exec -T router nft delete table inet junction_fail_closed &&
  docker-compose -p $project exec -T a1 ping -c 1 -W 2 10.2.0.11"
docker-compose -p "$project" restart -t 5 router >/dev/null 2>&1
for _ in $(seq 60); do dc router junction status >/dev/null 2>&1 && break; sleep 0.5; done
check "a restart with no revision closes again" dc router nft list table inet junction_fail_closed
# The restarted router has new interfaces (new MACs) and sends no gratuitous
# ARP: hosts that talked to it before would wait for their neighbour entries
# to go stale. Not what this test is about: start them afresh.
for host in a1 a2 b1 b2 ccnn; do dc "$host" ip neigh flush all >/dev/null 2>&1 || true; done
refuse "after that restart a1 does not reach b1" dc a1 ping -c 1 -W 2 10.2.0.11

step "junction apply -f /etc/junction/lab.yaml"
check "the lab configuration commits" dc router junction apply -f /etc/junction/lab.yaml
# everything below needs that revision: stop here rather than report its consequences
[ "$failures" = 0 ] || { echo "test:images: $failures failed (the rest needs the commit); total $(( $(date +%s) - started )) s"; exit 1; }
# The runtime named them eth0.. in an order of its own; the configuration selected them by subnet.
check "status: each role on the ethN that has its subnet" dc router sh -c '
  junction status --json > /tmp/status.json &&
  for role in ccnn0:100.64.0.2/24 vpc0:10.1.0.1/24 vpc1:10.2.0.1/24; do
    node -e "const [n, a] = process.argv[1].split(\":\"); const s = require(\"/tmp/status.json\");
      const i = s.interfaces.find((x) => x.configured_name === n);
      if (!i || !/^eth[0-9]$/.test(i.name) || !i.addresses.includes(a) || !i.selected_by.startsWith(\"subnet \")) { console.error(JSON.stringify(i)); process.exit(1); }" "$role" || exit 1
  done'
listen inet 9000
check "NAT egress: a1 reaches the internet host" connect a1 198.18.0.2 9000
check "NAT egress: the internet host saw the router's CCNN address" peer_was inet 9000 100.64.0.2
check "NAT egress: b2 pings the internet host" dc b2 ping -c 2 -W 2 198.18.0.2
listen b1 5432
check "policy: a1 -> b1:5432 (postgres to db-servers) is allowed" connect a1 10.2.0.11 5432
listen b1 22
refuse "policy: a1 -> b1:22 is dropped" connect a1 10.2.0.11 22
listen a1 5432
refuse "policy: nothing new from b1 to a1" connect b1 10.1.0.11 5432
listen a1 80
check "port forward: inet -> 100.64.0.2:8000 reaches a1:80" connect inet 100.64.0.2 8000
check "port forward: a1 saw the internet host's address" peer_was a1 80 198.18.0.2

# IPsec to the on-prem site: its strongSwan gets the configuration Junction
# generates for it (as an on-prem team would), the tunnel comes up, and TCP
# from VPC a reaches the site's LAN host through it, not NATed.
step "IPsec tunnel to the on-prem strongSwan"
# GET/POST on Junction's API over its Unix socket, with the bootstrap token
api() { dc router node -e '
  const [method, path] = process.argv.slice(1);
  const token = require("fs").readFileSync("/var/lib/junction/api-token", "utf8").trim();
  const req = require("http").request({ socketPath: "/var/lib/junction/api.sock", method, path, headers: { authorization: `Bearer ${token}` }, timeout: 20000 }, (res) => {
    let body = ""; res.on("data", (d) => (body += d)); res.on("end", () => { process.stdout.write(body); process.exit(res.statusCode < 300 ? 0 : 1); });
  });
  req.on("error", (e) => { console.error(e.message); process.exit(1); }); req.end();' "$@"; }
# (captured, then matched: grep -q closing a pipe early would fail it under pipefail)
tunnel_up() { local out; out=$(api GET /v1/vpn/status) && grep -q '"name":"lan","state":"up"' <<<"$out"; }
fetch_onprem_config() { api GET '/v1/vpn/peers/onprem/remote-config?format=strongswan' > "$work/onprem.conf"; }
onprem_sa_installed() { local out; out=$(dc onprem swanctl --list-sas) && grep -q INSTALLED <<<"$out"; }
# Both directions of the tunnel counted bytes (Junction's status, from charon).
tunnel_carried() {
  api GET /v1/vpn/status | node -e '
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const t = s.peers.flatMap((p) => p.tunnels).find((x) => x.name === "lan");
    process.exit(t && t.bytes_in > 0 && t.bytes_out > 0 ? 0 : 1);'
}
t4=$(date +%s)
check "the on-prem configuration comes from Junction (remote-config)" fetch_onprem_config
docker-compose -p "$project" exec -T onprem sh -c 'umask 077; cat > /etc/swanctl/conf.d/junction.conf' < "$work/onprem.conf"
check "the on-prem gateway loads it" dc onprem swanctl --load-all --noprompt
for _ in $(seq 12); do
  tunnel_up && break
  api POST '/v1/vpn/peers/onprem/tunnels/lan/initiate?timeout_ms=5000' >/dev/null 2>&1 || sleep 1
done
check "IPsec: tunnel onprem/lan is up (Junction's status)" tunnel_up
check "IPsec: the on-prem side has the CHILD_SA installed too" onprem_sa_installed
echo "test:images: tunnel up $(( $(date +%s) - t4 )) s after the on-prem configuration was fetched"
listen lan1 5201
check "IPsec: a1 -> on-prem LAN host 192.168.50.11 through the tunnel" connect a1 192.168.50.11 5201
check "IPsec: the LAN host saw a1's own address (no NAT into the tunnel)" peer_was lan1 5201 10.1.0.11
check "IPsec: the tunnel carried it both ways" tunnel_carried
listen lan1 5202
refuse "IPsec: b1 (VPC b, no policy to vpn) does not reach the LAN host" connect b1 192.168.50.11 5202
check "the API's health after the commit" podman healthcheck run "$(docker-compose -p "$project" ps -q router)"

echo "test:images: $failures failed; total $(( $(date +%s) - started )) s"
[ "$failures" = 0 ]
