#!/bin/sh
# Route the WAN side through the lab's "internet" (GATEWAY, as the lab hosts
# do: the runtime's own gateway on an internal network leads nowhere), then
# run charon in the foreground. Its configuration arrives over VICI.
set -eu
if [ -n "${GATEWAY:-}" ]; then
  ip route replace default via "$GATEWAY"
fi
exec /usr/lib/ipsec/charon
