// Finds the elements of a run that overlap a new element, without comparing
// against every element (100k rules must compile in well under a second).
//
// Each dimension (source, destination, service) has a grid at a few fixed
// granularities; an element is filed, per dimension, in the one cell of the
// finest granularity it fits into. A query looks up, per dimension, the cells
// its interval touches (few in the common case) and checks only the candidates
// of the dimension with the fewest. Only when every dimension is too wide to
// enumerate does it scan the whole run.
import type { Family } from '../appliance/net/ip.js';
import { elementContains, elementsOverlap, type Element } from './elements.js';

/** Bits below each granularity (cell size = 2^shift), coarsest first; the first is the whole space. */
const ADDRESS_SHIFTS: Record<Family, number[]> = { 4: [32, 24, 16, 8, 0], 6: [128, 96, 80, 64, 0] };
const SERVICE_SHIFTS = [24, 16, 8, 0]; // everything, one protocol, 256 ports, one port
const MAX_CELLS_PER_LEVEL = 16;

type Dim = 'src' | 'dst' | 'svc';
const DIMS: Dim[] = ['src', 'dst', 'svc'];

function bounds(e: Element, dim: Dim): [bigint, bigint] {
  if (dim === 'svc') return [BigInt(e.svc.first), BigInt(e.svc.last)];
  return [e[dim].first, e[dim].last];
}

export type Placement = 'new' | 'shadowed' | 'overlaps';

export class OverlapIndex {
  private readonly all: Element[] = [];
  private readonly cells: Record<Dim, Map<string, Element[]>> = { src: new Map(), dst: new Map(), svc: new Map() };
  private readonly shifts: Record<Dim, bigint[]>;
  /** elements filed per dimension and level, so empty levels are skipped by queries */
  private readonly filed: Record<Dim, number[]> = { src: [], dst: [], svc: [] };

  constructor(family: Family) {
    const a = ADDRESS_SHIFTS[family].map(BigInt);
    this.shifts = { src: a, dst: a, svc: SERVICE_SHIFTS.map(BigInt) };
  }

  get size(): number {
    return this.all.length;
  }

  add(e: Element): void {
    this.all.push(e);
    for (const dim of DIMS) {
      const [first, last] = bounds(e, dim);
      const shifts = this.shifts[dim];
      // The finest level whose cell holds the whole interval.
      let level = 0;
      for (let l = shifts.length - 1; l >= 0; l--) {
        if (first >> shifts[l] === last >> shifts[l]) { level = l; break; }
      }
      this.filed[dim][level] = (this.filed[dim][level] ?? 0) + 1;
      const key = `${level}:${first >> shifts[level]}`;
      const list = this.cells[dim].get(key);
      if (list) list.push(e);
      else this.cells[dim].set(key, [e]);
    }
  }

  /** The lists that hold every element overlapping [first, last] in one dimension, or undefined if too many cells. */
  private candidates(dim: Dim, first: bigint, last: bigint): Element[][] | undefined {
    const lists: Element[][] = [];
    const shifts = this.shifts[dim];
    for (let l = 0; l < shifts.length; l++) {
      if (!this.filed[dim][l]) continue;
      const lo = first >> shifts[l];
      const hi = last >> shifts[l];
      if (hi - lo >= BigInt(MAX_CELLS_PER_LEVEL)) {
        // Too many cells to visit: this dimension does not narrow the search.
        return undefined;
      }
      for (let c = lo; c <= hi; c++) {
        const list = this.cells[dim].get(`${l}:${c}`);
        if (list) lists.push(list);
      }
    }
    return lists;
  }

  /** Whether `e` is new to the run, contained in an element already there, or partly overlaps one. */
  place(e: Element): Placement {
    let best: Element[][] | undefined;
    let bestSize = Infinity;
    for (const dim of DIMS) {
      const [first, last] = bounds(e, dim);
      const lists = this.candidates(dim, first, last);
      if (!lists) continue;
      const size = lists.reduce((n, l) => n + l.length, 0);
      if (size < bestSize) { best = lists; bestSize = size; }
    }
    const pools = best ?? [this.all];
    let overlaps = false;
    for (const pool of pools) {
      for (const other of pool) {
        if (!elementsOverlap(other, e)) continue;
        if (elementContains(other, e)) return 'shadowed';
        overlaps = true;
      }
    }
    return overlaps ? 'overlaps' : 'new';
  }
}
