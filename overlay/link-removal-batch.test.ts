import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../test/support/privileged.js';
import type { LinkOp } from './link-plan.js';
import { BATCH_GROUPS, createLinkRemovalBatcher, hostLinkDeleted, planRemovalBatch } from './link-removal-batch.js';
import { applyLinkOps } from './link-shell.js';
import { uniqueTag } from './testing/netns-fixture.js';

const run = promisify(execFile);
const lines = (ops: LinkOp[]) => ops.map((o) => (o.kind === 'ip' ? o.args.join(' ') : o.kind));

describe('planRemovalBatch', () => {
  const g = BATCH_GROUPS.min + 7;

  it('puts several devices in the batch group and deletes the group, then the namespaces', () => {
    const ops = planRemovalBatch(
      [
        { devices: ['tsva'], namespaces: ['c1'] },
        { devices: ['tsvb', 'tsvc'], namespaces: ['c2'] },
      ],
      g,
    );
    expect(lines(ops)).toEqual([
      `link set dev tsva group ${g}`,
      `link set dev tsvb group ${g}`,
      `link set dev tsvc group ${g}`,
      `link del group ${g}`,
      'netns del c1',
      'netns del c2',
    ]);
  });

  it('deletes devices one by one without a group, or when there is only one', () => {
    expect(lines(planRemovalBatch([{ devices: ['tsva', 'tsvb'], namespaces: [] }]))).toEqual(['link del tsva', 'link del tsvb']);
    expect(lines(planRemovalBatch([{ devices: ['tsva'], namespaces: ['c1'] }], g))).toEqual(['link del tsva', 'netns del c1']);
  });

  it('never uses a group outside the kept range (0 is every device)', () => {
    expect(() => planRemovalBatch([{ devices: ['a', 'b'], namespaces: [] }], 0)).toThrow(/outside the range/);
    expect(() => planRemovalBatch([{ devices: ['a', 'b'], namespaces: [] }], 5)).toThrow(/outside the range/);
  });

  it('knows a host link delete from other ops', () => {
    expect(hostLinkDeleted({ kind: 'ip', args: ['link', 'del', 'tsva'] })).toBe('tsva');
    expect(hostLinkDeleted({ kind: 'ip', netns: '/run/netns/x', args: ['link', 'del', 'eth0'] })).toBeUndefined();
    expect(hostLinkDeleted({ kind: 'ip', args: ['link', 'set', 'tsva', 'down'] })).toBeUndefined();
    expect(hostLinkDeleted({ kind: 'ip', args: ['link', 'del', 'tsva'], optional: true })).toBeUndefined();
  });
});

describe('createLinkRemovalBatcher', () => {
  it('sends removals made in one turn as one batch, and those made meanwhile as the next', async () => {
    const sent: string[][] = [];
    let release: () => void = () => undefined;
    const firstDone = new Promise<void>((r) => (release = r));
    const batcher = createLinkRemovalBatcher(async (ops) => {
      sent.push(lines(ops));
      if (sent.length === 1) await firstDone;
    }, () => BATCH_GROUPS.min);
    const a = batcher.remove({ devices: ['a'], namespaces: [] });
    const b = batcher.remove({ devices: ['b'], namespaces: [] });
    await new Promise((r) => setImmediate(r));
    const c = batcher.remove({ devices: ['c'], namespaces: [] });
    const d = batcher.remove({ devices: ['d'], namespaces: [] });
    release();
    await Promise.all([a, b, c, d]);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toContain(`link del group ${BATCH_GROUPS.min}`);
    expect(sent[0]?.join(' ')).toMatch(/dev a .*dev b /);
    expect(sent[1]?.join(' ')).toMatch(/dev c .*dev d /);
  });

  it('retries each removal of a failed batch on its own: only the bad one fails', async () => {
    const batcher = createLinkRemovalBatcher(async (ops) => {
      if (lines(ops).some((l) => l.includes('gone'))) throw new Error('Cannot find device "gone"');
    }, () => BATCH_GROUPS.min);
    const results = await Promise.allSettled([
      batcher.remove({ devices: ['ok1'], namespaces: [] }),
      batcher.remove({ devices: ['gone'], namespaces: [] }),
      batcher.remove({ devices: ['ok2'], namespaces: [] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});

describePrivileged('batched link removal on the kernel', [root, command('ip')], () => {
  it('deletes every veth of the batch with its namespace, and nothing else', async () => {
    const tag = uniqueTag();
    const bridge = `tsb${tag}`;
    const bystander = `tsy${tag}`;
    const n = 6;
    const veth = (i: number) => `tsr${tag}${i}`;
    const ns = (i: number) => `tsr-${tag}-${i}`;
    try {
      await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
      // a device left in the default group, as every other device of the host is
      await run('ip', ['link', 'add', bystander, 'type', 'bridge']);
      for (let i = 0; i < n; i++) {
        await run('ip', ['netns', 'add', ns(i)]);
        await run('ip', ['link', 'add', veth(i), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(i)]);
        await run('ip', ['link', 'set', veth(i), 'master', bridge]);
      }
      const sent: string[][] = [];
      const group = BATCH_GROUPS.min + (Number.parseInt(tag, 36) % 1_000_000);
      const batcher = createLinkRemovalBatcher(async (ops) => {
        sent.push(lines(ops));
        await applyLinkOps(ops);
      }, () => group);
      // the first n - 1 in one batch (one group delete); the last with a device that is not there
      await Promise.all(Array.from({ length: n - 1 }, (_, i) => batcher.remove({ devices: [veth(i)], namespaces: [ns(i)] })));
      expect(sent).toEqual([expect.arrayContaining([`link del group ${group}`])]);
      const results = await Promise.allSettled([
        batcher.remove({ devices: [veth(n - 1)], namespaces: [ns(n - 1)] }),
        batcher.remove({ devices: [`tsr${tag}x`], namespaces: [] }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
      const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
      for (let i = 0; i < n; i++) expect(links).not.toContain(`${veth(i)}@`);
      expect(links).toContain(bystander);
      expect(links).toContain(bridge);
      const spaces = (await run('ip', ['netns', 'list'])).stdout;
      for (let i = 0; i < n; i++) expect(spaces).not.toContain(ns(i));
    } finally {
      for (let i = 0; i < n; i++) {
        await run('ip', ['link', 'del', veth(i)]).catch(() => undefined);
        await run('ip', ['netns', 'del', ns(i)]).catch(() => undefined);
      }
      await run('ip', ['link', 'del', bystander]).catch(() => undefined);
      await run('ip', ['link', 'del', bridge]).catch(() => undefined);
    }
  });
});
