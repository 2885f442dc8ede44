import { describe, expect, it } from 'vitest';
import { RecordingCommandRunner } from '../../support/recording-runner.js';
import { detectDataplane } from '../../../appliance/subsystems/vpn/dataplane.js';

describe('detectDataplane', () => {
  it('chooses libipsec when the kernel has no XFRM ESP', async () => {
    const runner = new RecordingCommandRunner().on(
      (c) => c.args.includes('add'),
      () => ({ code: 2, stderr: 'Error: Requested type not found.\n' }),
    );
    const choice = await detectDataplane(runner);
    expect(choice).toEqual({ dataplane: 'libipsec', reason: 'kernel XFRM ESP unavailable (ip xfrm state add: Error: Requested type not found.)' });
    expect(runner.commands.length).toBe(1);
  });

  it('chooses the kernel when the probe state can be added, and deletes it again', async () => {
    const runner = new RecordingCommandRunner();
    const choice = await detectDataplane(runner, { netns: 'jn-x' });
    expect(choice.dataplane).toBe('xfrm');
    const [add, del, linkAdd, linkDel] = runner.commands;
    expect(add!.args.slice(0, 5)).toEqual(['-n', 'jn-x', 'xfrm', 'state', 'add']);
    expect(del!.args.slice(0, 5)).toEqual(['-n', 'jn-x', 'xfrm', 'state', 'delete']);
    // the XFRM interface probe is removed again, by the name it was created with
    expect(linkAdd!.args.slice(0, 4)).toEqual(['-n', 'jn-x', 'link', 'add']);
    expect(linkAdd!.args.slice(5, 7)).toEqual(['type', 'xfrm']);
    expect(linkDel!.args).toEqual(['-n', 'jn-x', 'link', 'del', linkAdd!.args[4]]);
    expect(linkAdd!.args[4]!.length).toBeLessThanOrEqual(15);
    const spi = (args: string[]): string => args[args.indexOf('spi') + 1]!;
    expect(spi(del!.args)).toBe(spi(add!.args));
    expect(Number(spi(add!.args))).toBeGreaterThanOrEqual(0x100);
  });

  it('chooses libipsec when the kernel has ESP but no XFRM interfaces, and says so', async () => {
    const runner = new RecordingCommandRunner().on(
      (c) => c.args.includes('link') && c.args.includes('add'),
      () => ({ code: 2, stderr: 'Error: Unknown device type.\n' }),
    );
    const choice = await detectDataplane(runner);
    expect(choice).toEqual({ dataplane: 'libipsec', reason: 'kernel has XFRM ESP but no XFRM interfaces (ip link add type xfrm: Error: Unknown device type.)' });
  });

  it('obeys a forced choice without probing', async () => {
    const runner = new RecordingCommandRunner();
    expect(await detectDataplane(runner, { force: 'libipsec' })).toEqual({ dataplane: 'libipsec', reason: 'forced by configuration' });
    expect(runner.commands).toEqual([]);
  });
});
