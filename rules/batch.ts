// Collects the commands of one nft JSON batch, in the order the kernel needs
// them (table, chains, counters, sets and maps, rules), each with the document
// path it came from so "Parsing command array at index N failed" maps back.
import type { Config } from '../appliance/model/schema.js';
import type { CompileCache, PolicyState } from './compile-cache.js';
import type { Problem } from './errors.js';
import type { Resolver } from './resolve.js';

export interface SelfService {
  id: string;
  interfaces?: string[];
  protocol: 'tcp' | 'udp' | 'esp' | 'gre' | 'icmp' | 'icmpv6' | 'any' | string;
  ports?: number[];
  /** address literals */
  sources?: string[];
  /**
   * Skip connection tracking for this traffic in both directions (the
   * router's own tunnel packets: ESP-in-UDP at line rate gains nothing from
   * conntrack). Its accept then does not rely on `ct state`.
   */
  notrack?: boolean;
}

export interface CompileOptions {
  /** use a flowtable fast path for established flows (only where the kernel has flowtables) */
  flowtable: boolean;
  apiPort?: number;
  /** input accepts asked for by other subsystems (IKE, BGP, DHCP server, ...) */
  selfServices?: SelfService[];
  /**
   * Interfaces the document does not list that belong to a zone, e.g. the
   * VPN's tunnel interface (ipsec0 or xfrm0) in vpn.zone: they take part in
   * zone dispatch like the document's interfaces.
   */
  zoneMembers?: ZoneMember[];
  /**
   * Networks that may leave only through one interface, the VPN's tunnel
   * (the remote subnets of fail-closed tunnels): forwarded elsewhere they are
   * dropped, and they are never source-NATed.
   */
  tunnelOnly?: TunnelOnly;
}

export interface TunnelOnly {
  interface: string;
  networks: string[];
}

export interface ZoneMember {
  name: string;
  zone: string;
}

/**
 * Where each firewall rule's counter lives: rules count in the per-element
 * counters of the sets their runs look up, so a rule's counter is the sum
 * over the elements it owns.
 */
export interface RuleCounters {
  /**
   * every enabled rule's id, by policy, in document order (a rule whose
   * elements are all shadowed owns none). Id lists per policy, not a record
   * per rule: this is kept for every rule of every policy.
   */
  rules: Array<{ policy: string; ids: string[] }>;
  /** each counted set, with owners[i] the id of the rule that owns the set's i-th element in the batch */
  sets: Array<{ name: string; owners: string[] }>;
}

type Section = 'head' | 'chains' | 'counters' | 'sets' | 'rules';
const ORDER: Section[] = ['head', 'chains', 'counters', 'sets', 'rules'];

export class Batch {
  private readonly commands: Record<Section, object[]> = { head: [], chains: [], counters: [], sets: [], rules: [] };
  private readonly origins: Record<Section, string[]> = { head: [], chains: [], counters: [], sets: [], rules: [] };
  elements = 0;
  lookups = 0;
  /** some rule logs (to NFLOG): the log reader must run */
  logging = false;
  readonly ruleCounters: RuleCounters = { rules: [], sets: [] };

  add(section: Section, command: object, origin: string): void {
    this.commands[section].push(command);
    this.origins[section].push(origin);
  }

  get ruleCount(): number {
    return this.commands.rules.length;
  }

  finish(): { nftables: object[]; origins: string[] } {
    return { nftables: ORDER.flatMap((s) => this.commands[s]), origins: ORDER.flatMap((s) => this.origins[s]) };
  }
}

/** What the chain builders share. */
export interface CompileContext {
  config: Config;
  options: CompileOptions;
  resolver: Resolver;
  batch: Batch;
  problems: Problem[];
  /** raw chains already added (notrack for the router's own tunnel traffic) */
  rawChains: Set<string>;
  /** the previous compile's results, when the caller keeps them */
  cache?: CompileCache;
  /** this compile's rules and runs by policy name, for the cache once the compile succeeds */
  policyStates: Map<string, PolicyState>;
}
