// Static checks of everything under deploy/, compose.yaml and the router
// image: parsed, not grepped. The sysctls everywhere are exactly the list
// the code needs, the addresses are the namespace lab's, the package lists
// agree, and nothing exposes the API publicly.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { JUNCTION_SYSCTLS } from '../../../appliance/main/subsystems.js';
import { addressing } from '../../lab-kit/topology.js';
import { documentValidator } from '../../../appliance/model/validate.js';
import { verifyConfig } from '../../../appliance/model/verify.js';
import { verifyMatches } from '../../../appliance/model/selection.js';
import { VpnSection } from '../../../appliance/subsystems/vpn/schema.js';
import { BgpSection } from '../../../appliance/subsystems/bgp/schema.js';
import { verifyVpn } from '../../../appliance/subsystems/vpn/verify.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { SERVE_NODE_FLAGS } from '../../../appliance/main/node-flags.js';

const repo = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const text = (path: string) => readFileSync(repo(path), 'utf8');
const yaml = (path: string) => parse(text(path)) as any;
const needed = Object.fromEntries(JUNCTION_SYSCTLS.map((s) => [s.key, s.value]));
const version = (JSON.parse(text('package.json')) as { version: string }).version;
const HEALTH = /socketPath:'\/var\/lib\/junction\/api\.sock',path:'\/v1\/health'/;

/** Debian packages named in a shell array `name=(...)` of setup.sh. */
function setupList(name: string): string[] {
  const match = new RegExp(`^${name}=\\(([^)]*)\\)`, 'm').exec(text('appliance/scripts/setup.sh'));
  if (!match) throw new Error(`setup.sh has no ${name}=(...) list`);
  return match[1].split(/\s+/).filter(Boolean);
}

/** The packages the router image's final stage installs. */
function imagePackages(): string[] {
  const final = text('images/router/Dockerfile').split(/^FROM /m).at(-1)!;
  const install = /apt-get install -y --no-install-recommends((?:[^&]|\\\n)*)&&/.exec(final);
  if (!install) throw new Error('no apt-get install in the final stage');
  return install[1].replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
}

describe('the router image', () => {
  it('installs the runtime list of setup.sh, plus tini, and nothing for tests or builds', () => {
    expect(imagePackages().sort()).toEqual([...setupList('runtime'), 'tini'].sort());
    expect(imagePackages()).toContain('procps');
  });

  it('copies only appliance/, api/ and rules/ into the build, and ships dist, production modules and the entrypoint', () => {
    const dockerfile = text('images/router/Dockerfile');
    const copies = [...dockerfile.matchAll(/^COPY (.*)$/gm)].map((m) => m[1]);
    expect(copies).toEqual([
      'package.json package-lock.json ./',
      'tsconfig.json ./',
      'appliance ./appliance',
      'api ./api',
      'rules ./rules',
      '--from=build /src/package.json ./',
      '--from=build /src/node_modules ./node_modules',
      '--from=build /src/dist ./dist',
      'images/router/entrypoint.sh /usr/local/bin/junction-entrypoint',
      'images/router/junction /usr/local/bin/junction',
    ]);
    expect(dockerfile).toContain('npm prune --omit=dev');
    const ignore = text('images/router/Dockerfile.dockerignore').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('**');
    expect(ignore.slice(1).every((l) => /^!(package(-lock)?\.json|tsconfig\.json|appliance\/\*\*|api\/\*\*|rules\/\*\*|images\/router\/(entrypoint\.sh|junction))$/.test(l))).toBe(true);
    // tsc compiles the product only: tests never reach dist/
    expect((JSON.parse(text('tsconfig.json')) as { include: string[] }).include).toEqual(['appliance/**/*.ts', 'api/**/*.ts', 'rules/**/*.ts']);
  });

  it('runs under tini and checks /v1/health through the Unix socket', () => {
    const dockerfile = text('images/router/Dockerfile');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/usr\/local\/bin\/junction-entrypoint"\]$/m);
    const healthcheck = /^HEALTHCHECK .*\\\n\s+CMD (.*)$/m.exec(dockerfile);
    expect(healthcheck?.[1]).toMatch(HEALTH);
    expect(text('images/router/entrypoint.sh')).toContain('serve --state-dir /var/lib/junction "$@"');
  });
});

describe('compose.yaml', () => {
  const compose = yaml('compose.yaml');
  it('has no top-level name (compose 1.29 rejects it)', () => {
    expect(Object.keys(compose).sort()).toEqual(['networks', 'services', 'volumes', 'x-host']);
  });

  it('gives the router exactly the sysctls Junction needs, the caps and the tun device, and no ethN names', () => {
    const router = compose.services.router;
    expect(router.sysctls).toEqual(needed);
    expect(router.cap_add.sort()).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(router.devices).toEqual(['/dev/net/tun']);
    expect(JSON.stringify(compose)).not.toMatch(/\beth\d/);
  });

  it('has the namespace lab topology and addresses, with the CCNN router a container of its own', () => {
    const { services, networks } = compose;
    const subnet = (name: string) => networks[name].ipam.config[0].subnet;
    expect(subnet('ccnn')).toBe(addressing.ccnn.subnet);
    expect(subnet('internet')).toBe(addressing.internet.subnet);
    expect(subnet('vpc-a')).toBe(addressing.vpcs.a.subnet);
    expect(subnet('vpc-b')).toBe(addressing.vpcs.b.subnet);
    expect(services.router.networks).toEqual({
      ccnn: { ipv4_address: addressing.ccnn.router },
      'vpc-a': { ipv4_address: addressing.vpcs.a.gateway },
      'vpc-b': { ipv4_address: addressing.vpcs.b.gateway },
    });
    expect(services.ccnn.networks).toEqual({ ccnn: { ipv4_address: addressing.ccnn.gateway }, internet: { ipv4_address: addressing.internet.ccnnSide } });
    expect(services.inet.networks.internet.ipv4_address).toBe(addressing.internet.host);
    expect(services.inet.environment.GATEWAY).toBe(addressing.internet.ccnnSide);
    for (const [host, address] of Object.entries({ ...addressing.vpcs.a.hosts, ...addressing.vpcs.b.hosts })) {
      const vpc = host.startsWith('a') ? 'a' : 'b';
      expect(services[host].networks[`vpc-${vpc}`].ipv4_address).toBe(address);
      expect(services[host].environment.GATEWAY).toBe(addressing.vpcs[vpc].gateway);
    }
    // the on-prem site: its LAN as the namespace lab's; its WAN on the internet segment
    expect(subnet('onprem-lan')).toBe(addressing.onprem.lanSubnet);
    expect(services.onprem.networks['onprem-lan'].ipv4_address).toBe(addressing.onprem.lanGateway);
    expect(services.lan1.networks['onprem-lan'].ipv4_address).toBe(addressing.onprem.lanHost);
    expect(services.lan1.environment.GATEWAY).toBe(addressing.onprem.lanGateway);
    expect(services.onprem.environment.GATEWAY).toBe(addressing.internet.ccnnSide);
    // every network internal, the runtime's bridge off the lab's addresses
    for (const network of Object.values<any>(networks)) {
      expect(network.internal).toBe(true);
      expect(network.ipam.config[0].gateway).toMatch(/\.254$/);
    }
  });

  it('selects the router interfaces by the subnets of its compose networks; its configuration is the demo plus the on-prem tunnel', () => {
    expect(compose.services.router.environment?.JUNCTION_INTERFACES).toBeUndefined();
    const lab = yaml('deploy/compose/lab.yaml');
    const router = compose.services.router.networks;
    for (const iface of lab.interfaces) {
      // the network on which the runtime gives the router exactly this interface's address
      const network = Object.keys(router).find((n) => iface.addresses.includes(`${router[n].ipv4_address}/24`));
      expect(network, iface.name).toBeDefined();
      expect(iface.match).toEqual({ subnet: compose.networks[network!].ipam.config[0].subnet });
      delete iface.match;
    }
    // and the tunnel to the compose lab's on-prem site, which the namespace demo has not
    expect(lab.vpn.peers[0]).toMatchObject({ name: 'onprem', remote: compose.services.onprem.networks.internet.ipv4_address });
    expect(lab.vpn.peers[0].tunnels[0].remote_subnets).toEqual([compose.networks['onprem-lan'].ipam.config[0].subnet]);
    delete lab.vpn;
    lab.zones = lab.zones.filter((z: { name: string }) => z.name !== 'vpn');
    lab.firewall.policies = lab.firewall.policies.filter((p: { to: string }) => p.to !== 'vpn');
    const demo = yaml('test/lab-kit/demo.yaml');
    delete demo.system.hostname;
    expect(lab).toEqual(demo);
    expect(compose.services.router.volumes).toContain('./deploy/compose/lab.yaml:/etc/junction/lab.yaml:ro');
  });
});

describe('Kubernetes manifests', () => {
  const deployment = yaml('deploy/kubernetes/deployment.yaml');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('is one replica, replaced with Recreate, attached to the VPCs by annotation', () => {
    expect(deployment).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', spec: { replicas: 1, strategy: { type: 'Recreate' } } });
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    expect(deployment.spec.template.metadata.annotations['vpc.coreweave.cloud/name']).toMatch(/^[a-z0-9-]+(,[a-z0-9-]+)*$/);
    expect(deployment.spec.template.metadata.annotations['vpc.coreweave.cloud/kubernetes-networking']).toBeUndefined();
  });

  it('sets exactly the needed sysctls, and names every one for --allowed-unsafe-sysctls', () => {
    expect(Object.fromEntries(pod.securityContext.sysctls.map((s: { name: string; value: string }) => [s.name, s.value]))).toEqual(needed);
    const allowed = /--allowed-unsafe-sysctls='([^']+)'/.exec(text('deploy/kubernetes/deployment.yaml'))![1].split(',');
    expect(allowed.sort()).toEqual(JUNCTION_SYSCTLS.filter((s) => s.kubernetes === 'unsafe').map((s) => s.key).sort());
  });

  it('has only NET_ADMIN and NET_RAW, /dev/net/tun, the state PVC and health probes through the socket', () => {
    expect(container.securityContext).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] } });
    const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, v]));
    const mounts = Object.fromEntries(container.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]));
    expect(volumes[mounts['/dev/net/tun']].hostPath).toEqual({ path: '/dev/net/tun', type: 'CharDevice' });
    expect(volumes[mounts['/var/lib/junction']].persistentVolumeClaim.claimName).toBe(yaml('deploy/kubernetes/pvc.yaml').metadata.name);
    expect(pod.hostNetwork).toBeUndefined();
    for (const probe of [container.livenessProbe, container.readinessProbe]) expect(probe.exec.command.join(' ')).toMatch(HEALTH);
    expect(container.image).toBe('junction');
  });

  it('reaches the API only through a ClusterIP Service', () => {
    const service = yaml('deploy/kubernetes/service.yaml');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    const api = container.ports.find((p: { name: string }) => p.name === 'api');
    expect(service.spec.ports).toEqual([{ name: 'api', port: api.containerPort, targetPort: 'api', protocol: 'TCP' }]);
    expect(container.args).toEqual(['--listen', `0.0.0.0:${api.containerPort}`, '--tls-self-signed']);
    expect(container.ports.every((p: { hostPort?: number }) => p.hostPort === undefined)).toBe(true);
  });

  it('kustomization lists every manifest and maps the image at the package version', () => {
    const kustomization = yaml('deploy/kubernetes/kustomization.yaml');
    expect(kustomization.resources.sort()).toEqual(['deployment.yaml', 'pvc.yaml', 'service.yaml']);
    expect(kustomization.images).toEqual([{ name: 'junction', newName: expect.stringMatching(/\/junction$/), newTag: version }]);
    for (const file of kustomization.resources) expect(parseAllDocuments(text(`deploy/kubernetes/${file}`)).every((d) => d.errors.length === 0)).toBe(true);
  });
});

describe('the systemd unit', () => {
  // the unit states the flags in its own syntax: they must stay the ones node-flags.ts names
  it('runs serve with the V8 flags every serve runs with, over HTTPS', () => {
    const unit = text('deploy/systemd/junction.service');
    expect(/^Environment=NODE_OPTIONS=(.*)$/m.exec(unit)?.[1]).toBe(SERVE_NODE_FLAGS.join(' '));
    expect(/^ExecStart=(.*)$/m.exec(unit)?.[1]).toMatch(/ serve .*--tls-self-signed$/);
  });
});

describe('Virtual Server manifest', () => {
  const vs = yaml('deploy/virtual-server/virtual-server.yaml');
  it('attaches the VPCs in order with a public IP that opens IKE and NAT-T only', () => {
    expect(vs).toMatchObject({ apiVersion: 'virtualservers.coreweave.com/v1alpha1', kind: 'VirtualServer' });
    expect(vs.spec.network.vpcs).toEqual([{ name: 'vpc-a' }, { name: 'vpc-b' }]);
    expect(vs.spec.network.public).toBe(true);
    expect(vs.spec.network.disableK8sNetworking).toBe(false);
    expect(vs.spec.network.udp.ports).toEqual([500, 4500]);
    expect(vs.spec.network.tcp.ports).not.toContain(8080);
  });

  it('installs the Debian package by cloud-init and starts its systemd unit', () => {
    const userData = vs.spec.cloudInit as string;
    expect(userData.startsWith('#cloud-config\n')).toBe(true);
    const cloudInit = parse(userData);
    const commands = cloudInit.runcmd.map((c: string[]) => c.join(' '));
    expect(commands).toContain('apt-get install -y --no-install-recommends /tmp/junction.deb');
    expect(commands).toContain('systemctl enable --now junction.service');
    expect(cloudInit.write_files[0].content).toMatch(new RegExp(`junction_${version.replace(/\./g, '\\.')}_amd64\\.deb`));
  });
});

describe('shipped configurations', () => {
  it.each(['deploy/compose/lab.yaml', 'deploy/debian/junction.yaml'])('%s validates and verifies', (path) => {
    // with the subsystems' sections (the compose lab has a vpn one), as the reconciler assembles them
    const config = documentValidator({ vpn: VpnSection, bgp: BgpSection })(yaml(path));
    expect(verifyConfig(config)).toEqual([]);
    expect(verifyVpn(config, NO_CAPABILITIES)).toEqual([]);
    expect(verifyMatches(config.interfaces)).toEqual([]);
  });
});
