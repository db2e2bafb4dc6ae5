/**
 * The thin shell under link-plan.ts: reads links back with `ip -json` and carries out
 * LinkOps, batching consecutive `ip` steps of one namespace into one `ip -batch -`.
 */
import { writeFile } from 'node:fs/promises';

import type { LinkInfo, LinkOp } from './link-plan.js';
import { runCommand } from './run-command.js';

export async function readLinks(netns?: string): Promise<LinkInfo[]> {
  const { stdout } = await runCommand(['ip', '-details', '-json', 'addr', 'show'], { netns });
  return JSON.parse(stdout === '' ? '[]' : stdout) as LinkInfo[];
}

export async function readLink(name: string, netns?: string): Promise<LinkInfo | undefined> {
  return (await readLinks(netns)).find((l) => l.ifname === name || (l.altnames ?? []).includes(name));
}

/** Destinations of the host's routes (IPv4 and IPv6), for IPAM to avoid. */
export async function readRouteDestinations(): Promise<string[]> {
  const out: string[] = [];
  for (const fam of ['-4', '-6']) {
    const { stdout } = await runCommand(['ip', '-json', fam, 'route', 'show']);
    for (const r of JSON.parse(stdout === '' ? '[]' : stdout) as { dst?: string }[]) {
      if (r.dst !== undefined && r.dst !== 'default') out.push(r.dst);
    }
  }
  return out;
}

function sameTarget(a: LinkOp, b: LinkOp): boolean {
  return a.kind === b.kind && a.netns === b.netns && !(a.kind === 'ip' && a.optional) && !(b.kind === 'ip' && b.optional);
}

export async function applyLinkOps(ops: readonly LinkOp[]): Promise<void> {
  for (let i = 0; i < ops.length; ) {
    const op = ops[i] as LinkOp;
    if (op.kind === 'ip' && op.optional === true) {
      await runCommand(['ip', ...op.args], { netns: op.netns }).catch(() => undefined);
      i++;
    } else if (op.kind === 'ip') {
      const lines: string[] = [];
      let j = i;
      while (j < ops.length && sameTarget(op, ops[j] as LinkOp)) {
        const o = ops[j] as Extract<LinkOp, { kind: 'ip' }>;
        lines.push(o.args.map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a)).join(' '));
        j++;
      }
      await runCommand(['ip', '-batch', '-'], { input: `${lines.join('\n')}\n`, netns: op.netns });
      i = j;
    } else if (op.kind === 'sysctl') {
      if (op.netns === undefined) await writeFile(`/proc/sys/${op.key.replaceAll('.', '/')}`, op.value);
      // /proc/sys/net shows the namespace of whoever opens it; sh is there where procps may not be.
      else {
        const path = `/proc/sys/${op.key.replaceAll('.', '/')}`;
        await runCommand(['sh', '-c', 'printf %s "$1" > "$2"', 'sysctl', op.value, path], { netns: op.netns });
      }
      i++;
    } else if (op.kind === 'nft') {
      await runCommand(['nft', '-f', '-'], { input: op.script, netns: op.netns });
      i++;
    } else {
      await runCommand(op.argv, { netns: op.netns });
      i++;
    }
  }
}

/** Remote VTEPs of a VXLAN device's all-zero FDB entries (`bridge -json fdb show`). */
export async function readVxlanPeers(device: string, netns?: string): Promise<string[]> {
  const { stdout } = await runCommand(['bridge', '-json', 'fdb', 'show', 'dev', device], { netns });
  const rows = JSON.parse(stdout === '' ? '[]' : stdout) as { mac?: string; dst?: string }[];
  return rows.filter((r) => r.mac === '00:00:00:00:00:00' && r.dst !== undefined).map((r) => r.dst as string);
}
