// Finds the elements of a run that overlap a new element, without comparing
// against every element (100k rules must compile in well under a second).
//
// Each dimension (source, destination, service) is projected onto plain
// numbers (IPv4 exactly, IPv6 by its top 48 bits; the projection is monotone,
// so overlapping intervals have overlapping projections) and has a grid at a
// few fixed granularities. An element is filed, per dimension, in the one cell
// of the finest granularity it fits into. A query visits, per dimension, the
// cells its interval touches (few in the common case) and checks exactly only
// the candidates of the dimension with the fewest. Only when every dimension
// is too wide to enumerate does it scan the whole run.
import type { Family } from '../appliance/model/ip.js';
import { elementContains, elementsOverlap, type Element } from './elements.js';

/** Cell sizes (as powers of two) per dimension, coarsest (the whole space) first. */
const ADDRESS_SHIFTS: Record<Family, number[]> = { 4: [32, 24, 16, 8, 0], 6: [48, 32, 16, 0] };
const SERVICE_SHIFTS = [24, 16, 8, 0]; // everything, one protocol, 256 ports, one port
const MAX_CELLS_PER_LEVEL = 16;
const LEVEL_STRIDE = 2 ** 49; // cell keys: level * stride + cell, all below 2^53

const DIMS = 3; // 0 source, 1 destination, 2 service

export type Placement = 'new' | 'shadowed' | 'overlaps';

/** An element with its projected bounds, computed once for the query and the insert. */
export interface Probe {
  element: Element;
  /** projected [lo, hi] per dimension: source, destination, service */
  bounds: [number, number, number, number, number, number];
}

export class OverlapIndex {
  private readonly all: Element[] = [];
  private readonly cells: Map<number, Element[]>[] = [new Map(), new Map(), new Map()];
  /** elements filed per dimension and level, so empty levels are skipped by queries */
  private readonly filed: number[][] = [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]];
  private readonly sizes: number[][];
  private readonly project: (v: bigint) => number;

  constructor(family: Family) {
    this.sizes = [ADDRESS_SHIFTS[family], ADDRESS_SHIFTS[family], SERVICE_SHIFTS].map((s) => s.map((b) => 2 ** b));
    this.project = family === 4 ? Number : projectV6;
  }

  get size(): number {
    return this.all.length;
  }

  probe(element: Element): Probe {
    const p = this.project;
    return {
      element,
      bounds: [p(element.src.first), p(element.src.last), p(element.dst.first), p(element.dst.last), element.svc.first, element.svc.last],
    };
  }

  add(probe: Probe): void {
    this.all.push(probe.element);
    for (let dim = 0; dim < DIMS; dim++) {
      const sizes = this.sizes[dim];
      const lo = probe.bounds[2 * dim];
      const hi = probe.bounds[2 * dim + 1];
      // The finest level whose cell holds the whole interval.
      let level = 0;
      for (let l = sizes.length - 1; l > 0; l--) {
        if (Math.floor(lo / sizes[l]) === Math.floor(hi / sizes[l])) { level = l; break; }
      }
      this.filed[dim][level]++;
      const key = level * LEVEL_STRIDE + Math.floor(lo / sizes[level]);
      const list = this.cells[dim].get(key);
      if (list) list.push(probe.element);
      else this.cells[dim].set(key, [probe.element]);
    }
  }

  /** How many elements the cells touched by [lo, hi] hold in one dimension; Infinity if too many cells. */
  private count(dim: number, lo: number, hi: number): number {
    const sizes = this.sizes[dim];
    let n = 0;
    for (let l = 0; l < sizes.length; l++) {
      if (!this.filed[dim][l]) continue;
      const first = Math.floor(lo / sizes[l]);
      const last = Math.floor(hi / sizes[l]);
      if (last - first >= MAX_CELLS_PER_LEVEL) return Infinity;
      for (let c = first; c <= last; c++) n += this.cells[dim].get(l * LEVEL_STRIDE + c)?.length ?? 0;
    }
    return n;
  }

  /** Whether the element is new to the run, contained in an element already there, or partly overlaps one. */
  place(probe: Probe): Placement {
    let bestDim = -1;
    let bestCount = Infinity;
    for (let dim = 0; dim < DIMS && bestCount > 0; dim++) {
      const n = this.count(dim, probe.bounds[2 * dim], probe.bounds[2 * dim + 1]);
      if (n < bestCount) { bestDim = dim; bestCount = n; }
    }
    if (bestCount === 0) return 'new';
    const e = probe.element;
    let overlaps = false;
    const check = (pool: Element[]): boolean => {
      for (const other of pool) {
        if (!elementsOverlap(other, e)) continue;
        if (elementContains(other, e)) return true;
        overlaps = true;
      }
      return false;
    };
    if (bestDim < 0) {
      if (check(this.all)) return 'shadowed';
    } else {
      const sizes = this.sizes[bestDim];
      const lo = probe.bounds[2 * bestDim];
      const hi = probe.bounds[2 * bestDim + 1];
      for (let l = 0; l < sizes.length; l++) {
        if (!this.filed[bestDim][l]) continue;
        for (let c = Math.floor(lo / sizes[l]); c <= Math.floor(hi / sizes[l]); c++) {
          const pool = this.cells[bestDim].get(l * LEVEL_STRIDE + c);
          if (pool && check(pool)) return 'shadowed';
        }
      }
    }
    return overlaps ? 'overlaps' : 'new';
  }
}

const projectV6 = (v: bigint) => Number(v >> 80n);
