// The control side of the BGP subsystem: what the API may ask of the
// running bird (status, learned routes, neighbor resets), and the one place
// where bird's errors become ControlFailed, so the API never sees a BIRD
// protocol error.
import { ControlFailed } from '../../core/control-failed.js';
import type { BgpRunning } from './config.js';
import { BirdProtocolError, BirdReplyError } from './reply-codes.js';
import { protocolName } from './render.js';
import { parseRoutes, routeCommand, type LearnedRoute, type RouteQuery } from './routes.js';
import { quoteBird, type BirdControl } from './bird-socket.js';
import type { BgpStatus } from './status.js';

/** What the API needs from the BGP subsystem; every failure is a ControlFailed. */
export interface BgpControl {
  status(): Promise<BgpStatus>;
  routes(query: RouteQuery & { limit?: number }): Promise<LearnedRoute[]>;
  reset(id: string): Promise<string>;
  softReset(id: string, direction?: 'in' | 'out'): Promise<string>;
}

/** bird's errors as the API reports them; anything else is not a control failure and passes through. */
export function controlFailure(error: unknown): unknown {
  if (error instanceof ControlFailed) return error;
  if (error instanceof BirdReplyError) return new ControlFailed(502, 'bird_refused', error.message);
  if (error instanceof BirdProtocolError) return new ControlFailed(504, 'bird_unreachable', error.message);
  return error;
}

/** Runs a control action with bird's errors mapped. */
export async function mapped<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw controlFailure(error);
  }
}

const text = (reply: { lines: Array<{ text: string }> }) => reply.lines.map((l) => l.text).join('\n');

/** Hard reset of one neighbor: closes and reopens the session. Returns bird's answer. */
export async function resetNeighbor(bird: BirdControl, id: string): Promise<string> {
  return text(await bird.command(`restart ${quoteBird(protocolName(id))}`));
}

/** Soft reset: re-run filters (route refresh in, re-send out) without closing the session. Returns bird's answer. */
export async function softResetNeighbor(bird: BirdControl, id: string, direction?: 'in' | 'out'): Promise<string> {
  return text(await bird.command(`reload ${direction ? `${direction} ` : ''}${quoteBird(protocolName(id))}`));
}

export class BgpActions {
  constructor(private readonly running: BgpRunning) {}

  async routes(query: RouteQuery & { limit?: number }): Promise<LearnedRoute[]> {
    if (query.neighbor !== undefined) this.requireNeighbor(query.neighbor);
    let command: string;
    try {
      command = routeCommand(query);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      // a prefix that is not one is a bad argument; a neighbor id that cannot exist names nothing
      throw /prefix/.test(error.message) ? new ControlFailed(400, 'invalid_request', error.message) : new ControlFailed(404, 'not_found', error.message);
    }
    this.requireBird();
    const routes = parseRoutes(await mapped(() => this.running.socket.command(command)), { filtered: query.filtered ?? false });
    return query.limit !== undefined ? routes.slice(0, query.limit) : routes;
  }

  async reset(id: string): Promise<string> {
    this.requireNeighbor(id);
    this.requireBird();
    return mapped(() => resetNeighbor(this.running.socket, id));
  }

  async softReset(id: string, direction?: 'in' | 'out'): Promise<string> {
    this.requireNeighbor(id);
    this.requireBird();
    return mapped(() => softResetNeighbor(this.running.socket, id, direction));
  }

  private requireBird(): void {
    const { applied, bird } = this.running;
    if (!applied.active) throw new ControlFailed(409, 'bgp_unavailable', 'BGP is not configured (no bgp section)', '/bgp');
    if (!bird?.pid) throw new ControlFailed(409, 'bgp_unavailable', `bird is not running${bird ? `: ${bird.recentLog().slice(-3).join(' | ')}` : ''}`, '/bgp');
  }

  private requireNeighbor(id: string): void {
    const index = this.running.applied.section?.neighbors.findIndex((n) => n.id === id) ?? -1;
    if (index < 0) throw new ControlFailed(404, 'not_found', `no BGP neighbor "${id}"`);
  }
}
