// The kernel settings the links set at every apply: forwarding, and what
// routing between VPCs needs. Where /proc/sys is read-only they must already
// be set (platform/sysctls.ts says what to add where).
import type { RequiredSysctl } from '../../platform/sysctls.js';

export const FORWARDING_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.ip_forward': '1',
  'net.ipv6.conf.all.forwarding': '1',
  // Loose reverse-path filtering: asymmetric paths (ECMP, VPN) stay valid.
  'net.ipv4.conf.all.rp_filter': '2',
  // Removing an interface's first address must not take its other addresses with it.
  'net.ipv4.conf.all.promote_secondaries': '1',
};

const WHY: Record<string, string> = {
  'net.ipv4.ip_forward': 'route IPv4 between interfaces',
  'net.ipv6.conf.all.forwarding': 'route IPv6 between interfaces',
  'net.ipv4.conf.all.rp_filter': 'loose reverse-path filter: asymmetric ECMP and VPN paths stay valid',
  'net.ipv4.conf.all.promote_secondaries': "removing an interface's first address keeps the others",
};

export const LINKS_SYSCTLS: readonly RequiredSysctl[] = Object.entries(FORWARDING_SYSCTLS).map(([key, value]) => ({ key, value, owner: 'links', why: WHY[key]!, kubernetes: 'unsafe' }));
