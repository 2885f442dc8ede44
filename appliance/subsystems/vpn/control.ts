// The control side of the VPN subsystem: what the API may ask of the
// running charon (status, initiate and terminate a tunnel, the event
// stream), and the one place where charon's VICI errors become
// ControlFailed, so the API never sees a VICI error.
import { ControlFailed } from '../../core/control-failed.js';
import { ViciCommandError, ViciTimeoutError } from './vici/index.js';
import type { Charon } from './charon.js';
import type { VpnArtifact } from './render.js';
import { childSas, str, type VpnEvent, type VpnStatus } from './status.js';

/** What the API needs from the VPN subsystem; every failure is a ControlFailed. */
export interface VpnControl {
  status(): Promise<VpnStatus>;
  /** false: the tunnel was up already (nothing started) */
  initiate(peer: string, tunnel: string, timeoutMs?: number): Promise<boolean>;
  terminate(peer: string, tunnel: string, timeoutMs?: number): Promise<number>;
  onEvent(listener: (event: VpnEvent) => void): () => void;
}

/** charon's errors as the API reports them; anything else is not a control failure and passes through. */
export function controlFailure(error: unknown): unknown {
  if (error instanceof ControlFailed) return error;
  if (error instanceof ViciCommandError) return new ControlFailed(502, 'charon_refused', `charon: ${error.errmsg || 'refused'}`);
  if (error instanceof ViciTimeoutError) return new ControlFailed(504, 'charon_timeout', error.message);
  return error;
}

async function mapped<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw controlFailure(error);
  }
}

export class VpnActions {
  constructor(
    private readonly charon: Charon,
    private readonly applied: () => VpnArtifact,
  ) {}

  /** Brings a tunnel (and its IKE SA if needed) up and resolves once it is; false when it was up already (a second CHILD_SA for the same selectors is never asked for). */
  initiate(peer: string, tunnel: string, timeoutMs = 15_000): Promise<boolean> {
    return mapped(async () => {
      this.requireTunnel(peer, tunnel);
      const client = await this.charon.connect();
      const up = (await client.listSas({ ike: peer })).some((sa) => sa.name === peer && sa.value.state === 'ESTABLISHED' &&
        childSas(sa.value).some((child) => child.tunnel === tunnel && child.sa.state === 'INSTALLED'));
      if (up) return false;
      await client.initiate({ ike: peer, child: tunnel, timeoutMs });
      return true;
    });
  }

  /** Closes every CHILD_SA of a tunnel (its IKE SA stays). Returns how many were closed. */
  terminate(peer: string, tunnel: string, timeoutMs = 10_000): Promise<number> {
    return mapped(async () => {
      this.requireTunnel(peer, tunnel);
      const client = await this.charon.connect();
      const sas = await client.listSas({ ike: peer, noblock: true });
      const ids = sas.flatMap((s) => childSas(s.value))
        .filter((child) => child.tunnel === tunnel)
        .map((child) => str(child.sa.uniqueid))
        .filter((id): id is string => !!id);
      for (const id of ids) await client.terminate({ childId: id, timeoutMs });
      return ids.length;
    });
  }

  private requireTunnel(peer: string, tunnel: string): void {
    const c = this.applied().connections.find((x) => x.name === peer);
    if (!c) throw new ControlFailed(404, 'not_found', `no peer "${peer}" is running`);
    if (!(tunnel in c.childDigests)) throw new ControlFailed(404, 'not_found', `peer "${peer}" has no running tunnel "${tunnel}"`);
    if (!this.charon.pid) throw new ControlFailed(409, 'vpn_unavailable', 'charon is not running', '/vpn');
  }
}
