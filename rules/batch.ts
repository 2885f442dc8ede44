// Collects the commands of one nft JSON batch, in the order the kernel needs
// them (table, chains, counters, sets and maps, rules), each with the document
// path it came from so "Parsing command array at index N failed" maps back.
import type { Config } from '../appliance/config/schema.js';
import type { Problem } from './errors.js';
import type { Resolver } from './resolve.js';

export interface SelfService {
  id: string;
  interfaces?: string[];
  protocol: 'tcp' | 'udp' | 'esp' | 'gre' | 'icmp' | 'icmpv6' | 'any' | string;
  ports?: number[];
  /** address literals */
  sources?: string[];
}

export interface CompileOptions {
  /** use a flowtable fast path for established flows (only where the kernel has flowtables) */
  flowtable: boolean;
  apiPort?: number;
  /** input accepts asked for by other subsystems (IKE, BGP, DHCP server, ...) */
  selfServices?: SelfService[];
}

type Section = 'head' | 'chains' | 'counters' | 'sets' | 'rules';
const ORDER: Section[] = ['head', 'chains', 'counters', 'sets', 'rules'];

export class Batch {
  private readonly sections: Record<Section, { command: object; origin: string }[]> = {
    head: [], chains: [], counters: [], sets: [], rules: [],
  };
  elements = 0;
  lookups = 0;

  add(section: Section, command: object, origin: string): void {
    this.sections[section].push({ command, origin });
  }

  get ruleCount(): number {
    return this.sections.rules.length;
  }

  finish(): { nftables: object[]; origins: string[] } {
    const all = ORDER.flatMap((s) => this.sections[s]);
    return { nftables: all.map((c) => c.command), origins: all.map((c) => c.origin) };
  }
}

/** What the chain builders share. */
export interface CompileContext {
  config: Config;
  options: CompileOptions;
  resolver: Resolver;
  batch: Batch;
  problems: Problem[];
}
