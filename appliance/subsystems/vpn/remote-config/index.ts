// Generates the configuration an on-prem admin pastes into their gateway,
// from the same IKE peer definition Junction uses (the mirror image; see
// model.ts), for six vendors. Pure: document in, text out.
import type { Config } from '../../../model/schema.js';
import { RemoteConfigError } from './errors.js';
import { buildRemoteSite, type RemoteSite, type RemoteSiteOptions } from './model.js';
import type { RemoteConfigParams, RenderContext } from './params.js';
import { renderCiscoAsa } from './cisco-asa.js';
import { renderFortigate } from './fortigate.js';
import { renderLibreswan } from './libreswan.js';
import { renderPaloalto } from './paloalto.js';
import { renderPfsense } from './pfsense.js';
import { renderStrongswan } from './strongswan.js';
import type { Vendor } from './transforms.js';

export { RemoteConfigError } from './errors.js';
export { buildRemoteSite, PSK_PLACEHOLDER, type RemoteSite } from './model.js';
export type { Vendor } from './transforms.js';
export { REMOTE_CONFIG_PARAMS, RemoteConfigParamError, parseRemoteConfigParams, type RemoteConfigParams } from './params.js';

export const REMOTE_CONFIG_FORMATS: readonly Vendor[] = ['strongswan', 'libreswan', 'cisco-asa', 'fortigate', 'paloalto', 'pfsense'];

export const FORMAT_MEDIA: Record<Vendor, { contentType: string; extension: string; title: string }> = {
  strongswan: { contentType: 'text/plain; charset=utf-8', extension: 'conf', title: 'strongSwan swanctl.conf' },
  libreswan: { contentType: 'text/plain; charset=utf-8', extension: 'conf', title: 'Libreswan ipsec.conf and ipsec.secrets' },
  'cisco-asa': { contentType: 'text/plain; charset=utf-8', extension: 'txt', title: 'Cisco ASA CLI' },
  fortigate: { contentType: 'text/plain; charset=utf-8', extension: 'txt', title: 'FortiOS CLI' },
  paloalto: { contentType: 'text/plain; charset=utf-8', extension: 'txt', title: 'PAN-OS set commands' },
  pfsense: { contentType: 'application/xml; charset=utf-8', extension: 'xml', title: 'pfSense config.xml <ipsec> fragment' },
};

const RENDERERS: Record<Vendor, (site: RemoteSite, ctx: RenderContext) => string> = {
  strongswan: renderStrongswan,
  libreswan: renderLibreswan,
  'cisco-asa': renderCiscoAsa,
  fortigate: renderFortigate,
  paloalto: renderPaloalto,
  pfsense: renderPfsense,
};

/** Line-oriented CLIs cut a secret at whitespace. */
const CLI_VENDORS = new Set<Vendor>(['cisco-asa', 'fortigate', 'paloalto']);

export function isRemoteConfigFormat(value: string): value is Vendor {
  return (REMOTE_CONFIG_FORMATS as readonly string[]).includes(value);
}

/**
 * The config for `format`, fitted to the on-prem objects named in `params`
 * (already checked by parseRemoteConfigParams). Throws RemoteConfigError
 * (the peer cannot be expressed: 422) or RemoteConfigParamError (a
 * parameter does not fit this peer: 400).
 */
export function generateRemoteConfig(doc: Config, peerName: string, format: Vendor, options: RemoteSiteOptions & { params?: RemoteConfigParams } = {}): string {
  const site = buildRemoteSite(doc, peerName, options);
  const peers = doc.vpn?.peers ?? [];
  const peerPath = `/vpn/peers/${peers.findIndex((p) => p.name === peerName)}`;
  if (site.auth.method === 'psk' && site.auth.included && CLI_VENDORS.has(format) && /\s/.test(site.auth.psk)) {
    throw new RemoteConfigError(`the PSK contains whitespace, which the ${FORMAT_MEDIA[format].title} cannot carry in one command; use a PSK without spaces`, `${peerPath}/auth/psk`);
  }
  return RENDERERS[format](site, { peerPath, params: options.params ?? {}, peerNames: peers.map((p) => p.name) });
}
