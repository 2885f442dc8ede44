// Unit-test fake of Junction's nft table: what `nft -j -f` does to it (whole
// table or delta: rules by handle, set elements, flushes, deletes) and what
// `nft [-t] -j list table` shows. One batch is one transaction: an error
// leaves the table as it was, like the kernel.
type NftObject = Record<string, Record<string, unknown>>;
type Spec = Record<string, unknown>;

export class FakeNftTable {
  /** the table as a listing shows it (objects with handles); undefined when absent */
  objects: NftObject[] | undefined;
  private nextHandle = 1;

  /** `nft [-t] -j list table inet junction`; undefined when there is no table. */
  list(terse: boolean): string | undefined {
    if (!this.objects) return undefined;
    const shown = this.objects.map((object) => {
      const [kind, spec] = Object.entries(object)[0];
      if (!terse || (kind !== 'set' && kind !== 'map')) return object;
      const { elem: _elem, ...rest } = spec;
      return { [kind]: rest };
    });
    return JSON.stringify({ nftables: [{ metainfo: { json_schema_version: 1 } }, ...shown] });
  }

  /** `nft -j list chains inet`: the chains of every inet table (here: Junction's). */
  listChains(): string {
    return JSON.stringify({ nftables: [{ metainfo: { json_schema_version: 1 } }, ...(this.objects ?? []).filter((o) => o.chain)] });
  }

  /** `nft -j list chain inet junction NAME`; undefined when there is no such chain. */
  listChain(name: string): string | undefined {
    const chain = this.objects?.find((o) => o.chain && o.chain.name === name);
    if (!chain) return undefined;
    const rules = this.objects!.filter((o) => o.rule && o.rule.chain === name);
    return JSON.stringify({ nftables: [{ metainfo: { json_schema_version: 1 } }, chain, ...rules] });
  }

  /**
   * One transaction; throws (and changes nothing) on a command the kernel
   * would refuse. Returns what `nft -e` echoes: the commands, with the
   * handles of the rules they added.
   */
  load(batch: { nftables: NftObject[] }): { nftables: NftObject[] } {
    const echo: NftObject[] = [];
    let table = this.objects ? structuredClone(this.objects) : undefined;
    // names of the objects in the table, so that a 10k-counter batch stays linear
    const names = new Set((table ?? []).flatMap((o) => Object.entries(o).map(([k, v]) => `${k} ${String(v.name)}`)));
    batch.nftables.forEach((command, index) => {
      const [verb, body] = Object.entries(command)[0];
      const [kind, spec] = Object.entries(body)[0] as [string, Spec];
      const fail = (why: string): never => {
        throw new Error(`Error: Could not process rule: ${why}\nin command array at index ${index}`);
      };
      if (kind === 'table') {
        if (verb === 'add') table ??= [];
        else if (verb === 'delete') {
          table = table ? undefined : fail('No such file or directory');
          names.clear();
        }
        return;
      }
      if (!table) return fail('No such file or directory (no table)');
      const named = (k: string) => (names.has(`${k} ${spec.name}`) ? table!.findIndex((o) => o[k] && o[k].name === spec.name) : -1);
      if (verb === 'add' && kind === 'rule') {
        table.push({ rule: { ...spec, handle: this.nextHandle } });
        echo.push({ add: { rule: { ...spec, handle: this.nextHandle++ } } });
      } else if (verb === 'insert' && kind === 'rule') {
        const { handle: before, ...rule } = spec;
        const at = before === undefined
          ? table.findIndex((o) => o.rule && o.rule.chain === spec.chain)
          : table.findIndex((o) => o.rule && o.rule.handle === before);
        if (before !== undefined && at < 0) fail('No such file or directory (rule handle)');
        table.splice(at < 0 ? table.length : at, 0, { rule: { ...rule, handle: this.nextHandle } });
        echo.push({ insert: { rule: { ...rule, handle: this.nextHandle++ } } });
      } else if (verb === 'delete' && kind === 'rule') {
        const at = table.findIndex((o) => o.rule && o.rule.chain === spec.chain && o.rule.handle === spec.handle);
        if (at < 0) fail('No such file or directory (rule handle)');
        table.splice(at, 1);
      } else if (verb === 'flush' && kind === 'chain') {
        table = table.filter((o) => !(o.rule && o.rule.chain === spec.name));
      } else if (kind === 'element') {
        const set = table.find((o) => (o.set ?? o.map)?.name === spec.name);
        if (!set) return fail('No such file or directory (set)');
        const body = (set.set ?? set.map) as Spec;
        const have = (body.elem as unknown[] | undefined) ?? [];
        const keys = new Set(have.map((e) => JSON.stringify(e)));
        for (const element of spec.elem as unknown[]) {
          const key = JSON.stringify(element);
          if (verb === 'add' && keys.has(key)) fail('File exists (element)');
          if (verb === 'delete' && !keys.has(key)) fail('No such file or directory (element)');
        }
        const gone = new Set((spec.elem as unknown[]).map((e) => JSON.stringify(e)));
        body.elem = verb === 'add' ? [...have, ...(spec.elem as unknown[])] : have.filter((e) => !gone.has(JSON.stringify(e)));
      } else if (verb === 'add') {
        if (named(kind) >= 0) return; // nft's add of an existing object is a no-op
        table.push({ [kind]: { ...spec, handle: this.nextHandle++ } });
        names.add(`${kind} ${spec.name}`);
      } else if (verb === 'delete') {
        const at = named(kind);
        if (at < 0) fail(`No such file or directory (${kind})`);
        if (kind === 'chain' && table.some((o) => o.rule && o.rule.chain === spec.name)) fail('Device or resource busy');
        table.splice(at, 1);
        names.delete(`${kind} ${spec.name}`);
      }
    });
    this.objects = table;
    return { nftables: echo };
  }
}
