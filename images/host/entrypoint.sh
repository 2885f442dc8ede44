#!/bin/sh
# Point the default route at the lab router (Docker's own gateway on an
# internal network leads nowhere), then run the command.
set -eu
if [ -n "${GATEWAY:-}" ]; then
  ip route replace default via "$GATEWAY"
fi
exec "$@"
