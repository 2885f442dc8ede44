// `junction <command> --help` (and `junction help <command>`): what one
// command does, its options, and the client options every command shares.

const CLIENT_OPTIONS = `client options:
  --state-dir DIR   talk to the appliance whose state is in DIR (DIR/api.sock, DIR/api-token).
                    Without it: /var/lib/junction, or the namespace lab's state dir when exactly
                    one lab runs and /var/lib/junction does not answer (said on stderr)
  --api URL --token TOKEN (or JUNCTION_TOKEN)   use TCP instead of the Unix socket
  --ca FILE (or JUNCTION_CA)   trust this certificate for an https:// URL, e.g. the
                    self-signed one in DIR/tls/self-signed.crt (instead of the system's CAs)
  --json            print the server's answer as JSON`;

const COMMANDS: Record<string, string> = {
  serve: `usage: junction serve [--state-dir DIR] [--listen HOST:PORT] [--stop-daemons]
                     [--metrics-allow CIDR[,CIDR]] [--metrics-max-age S]
                     [--tls-cert FILE --tls-key FILE | --tls-self-signed]

Runs the appliance (as root, in its network namespace): the store, the kernel
and daemon programming, and the REST API on HOST:PORT (default 0.0.0.0:8080)
and on DIR/api.sock (root only). DIR defaults to /var/lib/junction.

GET /metrics (Prometheus text) needs a token of any scope, except from the
addresses in --metrics-allow (a Prometheus server's). Kernel and daemon
readings are reused for up to S seconds (default 5), however often it is
scraped.

On start it adopts the daemons (charon, bird, ulogd, udhcpc) an earlier
Junction left running when they are healthy and run the current revision,
and replaces them, saying why in its log, when not. SIGTERM or SIGINT stop
Junction alone: the kernel state and the daemons keep forwarding, so a
restart or an upgrade is hitless. With --stop-daemons they stop the daemons
too; SIGUSR2 (what \`junction down\` sends) always does.

HTTPS: --tls-cert FILE --tls-key FILE (PEM, unencrypted key) serve the TCP
API over TLS. --tls-self-signed makes a certificate on first start in
DIR/tls (self-signed.crt, and self-signed.key readable by root only) naming
the host name, localhost and the listen address (every address of the box
when listening on 0.0.0.0), and reuses it on later starts; the log says its
SHA-256 fingerprint. Plain HTTP on the TLS port is refused with 400
tls_required naming the https URL (not redirected: the request, and its
token, already crossed the network in clear). The Unix socket stays plain.`,
  restart: `usage: junction restart [--state-dir DIR]

Restarts \`junction serve\` hitlessly: SIGTERM to the running one (the
kernel state and the daemons keep running), then the same command again,
which adopts the daemons. Under systemd (deploy/systemd/junction.service) systemd
starts it again; otherwise it is started here, detached, logging to
DIR/junction.log. A commit awaiting confirmation keeps its deadline.
In the namespace lab: npm run lab:restart.`,
  down: `usage: junction down [--state-dir DIR]

Full stop: Junction stops charon, bird, ulogd and the DHCP clients, then
exits (bird withdraws its routes, charon closes its SAs). If Junction is not
running, the daemons it left are ended by their pid files. The kernel's
addresses, routes and firewall stay as they are.`,
  apply: `usage: junction apply -f FILE [--comment TEXT] [--confirm-timeout S]

Commits FILE (YAML, or JSON when it ends in .json) as the whole configuration
and prints what changed. With --confirm-timeout the commit reverts by itself
after S seconds unless \`junction confirm\` follows.`,
  plan: `usage: junction plan -f FILE

Shows what \`junction apply -f FILE\` would change, and changes nothing.`,
  confirm: `usage: junction confirm

Keeps the commit that awaits confirmation (see apply --confirm-timeout).`,
  cancel: `usage: junction cancel

Reverts, now, the commit that awaits confirmation.`,
  status: `usage: junction status

What the kernel and the daemons have: interfaces, per-rule counters,
conntrack entries, and notes on what this platform cannot do.`,
  revisions: `usage: junction revisions

Lists the revisions (* marks the current one): id, time, author, source, comment.`,
  token: `usage: junction token create NAME [--scope read|operate|admin] [--expires-in 30d]
       junction token list
       junction token revoke NAME

API tokens (needs an admin token; the Unix socket's DIR/api-token is one).
create prints the new token's secret once, alone on stdout, and what it is
on stderr. Scopes: read (every GET), operate (also VPN initiate/terminate,
BGP reset/soft-reset, commit confirm/cancel, reconcile), admin (everything;
default read). --expires-in takes 30d, 12h, 90m or 3600s; an expired token
gets 401 token_expired. list shows name, scope, expiry, last use and id,
never a secret. revoke NAME revokes that token now.`,
  rollback: `usage: junction rollback REVISION

Makes an old revision current again, as a new commit, and prints what changed.`,
};

/** The help of one command, or undefined when it has none. */
export function commandHelp(command: string | undefined): string | undefined {
  const text = command === undefined ? undefined : COMMANDS[command];
  if (!text) return undefined;
  return ['serve', 'restart', 'down'].includes(command!) ? text : `${text}\n\n${CLIENT_OPTIONS}`;
}
