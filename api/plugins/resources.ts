// The per-resource endpoints: each is a view of one list in the document.
import type { FastifyInstance } from 'fastify';
import * as S from '../../appliance/model/schema.js';
import type { Config } from '../../appliance/model/schema.js';
import type { ApiContext } from '../context.js';
import { registerCollection, type CollectionSpec } from './collection.js';

type Item = Record<string, unknown>;

/** A collection at a fixed place in the document, e.g. nat.port_forwards. */
function atPath(url: string, tag: string, noun: string, key: 'id' | 'name', item: S.TSchema, path: string[]): CollectionSpec {
  const parentOf = (doc: Config, create: boolean): Record<string, unknown> | undefined => {
    let node = doc as unknown as Record<string, unknown>;
    for (const part of path.slice(0, -1)) {
      if (!node[part]) {
        if (!create) return undefined;
        node[part] = {};
      }
      node = node[part] as Record<string, unknown>;
    }
    return node;
  };
  const last = path[path.length - 1];
  return {
    url, tag, noun, key, item,
    list: (doc) => parentOf(doc, false)?.[last] as Item[] | undefined,
    documentPath: () => `/${path.join('/')}`,
    ensure: (doc) => {
      const parent = parentOf(doc, true)!;
      parent[last] ??= [];
      return parent[last] as Item[];
    },
  };
}

const policyIndex = (doc: Config, name: string) => (doc.firewall?.policies ?? []).findIndex((p) => p.name === name);

const rules: CollectionSpec = {
  url: '/v1/firewall/policies/:policy/rules',
  tag: 'firewall',
  noun: 'rule',
  key: 'id',
  item: S.FirewallRule,
  parentMissing: (doc, params) => (policyIndex(doc, params.policy) < 0 ? `no firewall policy "${params.policy}"` : undefined),
  list: (doc, params) => doc.firewall?.policies[policyIndex(doc, params.policy)]?.rules as Item[] | undefined,
  documentPath: (doc, params) => `/firewall/policies/${policyIndex(doc, params.policy)}/rules`,
  ensure: (doc, params) => doc.firewall!.policies[policyIndex(doc, params.policy)].rules as Item[],
};

export const collections: CollectionSpec[] = [
  atPath('/v1/interfaces', 'interfaces', 'interface', 'name', S.Interface, ['interfaces']),
  atPath('/v1/zones', 'zones', 'zone', 'name', S.Zone, ['zones']),
  atPath('/v1/objects/addresses', 'objects', 'address object', 'name', S.AddressObject, ['objects', 'addresses']),
  atPath('/v1/objects/services', 'objects', 'service object', 'name', S.ServiceObject, ['objects', 'services']),
  atPath('/v1/firewall/policies', 'firewall', 'firewall policy', 'name', S.FirewallPolicy, ['firewall', 'policies']),
  rules,
  atPath('/v1/nat/egress', 'nat', 'NAT egress rule', 'id', S.NatEgress, ['nat', 'egress']),
  atPath('/v1/nat/port-forwards', 'nat', 'port forward', 'id', S.PortForward, ['nat', 'port_forwards']),
  atPath('/v1/nat/one-to-one', 'nat', '1:1 NAT', 'id', S.OneToOneNat, ['nat', 'one_to_one']),
  atPath('/v1/routes/static', 'routes', 'static route', 'id', S.StaticRoute, ['routes', 'static']),
];

export default async function resourcesPlugin(app: FastifyInstance, ctx: ApiContext) {
  for (const spec of collections) registerCollection(app, ctx, spec);
}
