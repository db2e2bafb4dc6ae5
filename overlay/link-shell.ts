/**
 * The thin shell under link-plan.ts: reads links back with `ip -json` and carries out
 * LinkOps: through tsc-spawn's `@links` built-in (rtnetlink and libnftables in one forked
 * child, native-link-ops.ts) when the helper runs and the ops have its forms, otherwise as one
 * `sh` script per call (renderLinkScript): consecutive `ip` steps of one namespace in one
 * `ip -batch -`, a namespace's steps in one `nsenter ... sh`.
 */
import { readFile } from 'node:fs/promises';

import type { LinkInfo, LinkOp } from './link-plan.js';
import { renderNativeLinkOps } from './native-link-ops.js';
import { runBuiltinCommand, runCommand } from './run-command.js';

export async function readLinks(netns?: string): Promise<LinkInfo[]> {
  const { stdout } = await runCommand(['ip', '-details', '-json', 'addr', 'show'], { netns });
  return JSON.parse(stdout === '' ? '[]' : stdout) as LinkInfo[];
}

export async function readLink(name: string, netns?: string): Promise<LinkInfo | undefined> {
  return (await readLinks(netns)).find((l) => l.ifname === name || (l.altnames ?? []).includes(name));
}

/**
 * Destinations of the host's routes (IPv4 and IPv6, the main table as `ip route show` lists
 * it; the default routes left out), for IPAM to avoid. Read from /proc/net/route and
 * /proc/net/ipv6_route (this process's namespace): no program on a network's creation.
 */
export async function readRouteDestinations(): Promise<string[]> {
  const [v4, v6] = await Promise.all(['/proc/net/route', '/proc/net/ipv6_route'].map((f) => readFile(f, 'utf8').catch(() => '')));
  return [...parseProcRoutes(v4 ?? ''), ...parseProcIpv6Routes(v6 ?? '')];
}

/** /proc/net/route: `Iface Destination Gateway Flags ... Mask ...`, addresses little-endian hex. */
export function parseProcRoutes(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = Number.parseInt(f[1] as string, 16);
    const mask = Number.parseInt(f[7] as string, 16);
    if (!Number.isFinite(dest) || !Number.isFinite(mask) || mask === 0) continue;
    const bytes = [dest & 0xff, (dest >>> 8) & 0xff, (dest >>> 16) & 0xff, dest >>> 24];
    let prefix = 0;
    for (let m = mask >>> 0; m !== 0; m >>>= 1) prefix += m & 1;
    out.push(`${bytes.join('.')}/${prefix}`);
  }
  return out;
}

const RTF_LOCAL = 0x80000000;

/**
 * /proc/net/ipv6_route: `dest(32 hex) prefix(hex) src srcprefix nexthop metric refcnt use
 * flags iface`, every table: the local table's routes (the host's own addresses, flagged
 * RTF_LOCAL) and multicast (ff00::/8) are left out, as `ip -6 route show` does.
 */
export function parseProcIpv6Routes(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^[0-9a-f]{32}$/.test(f[0] as string)) continue;
    const prefix = Number.parseInt(f[1] as string, 16);
    const flags = Number.parseInt(f[8] as string, 16);
    const dest = f[0] as string;
    if (prefix === 0 || (flags & RTF_LOCAL) !== 0 || dest.startsWith('ff')) continue;
    out.push(`${dest.match(/.{4}/g)?.join(':')}/${prefix}`);
  }
  return out;
}

/** A word for sh: single-quoted unless it is plainly safe. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** An `ip -batch` line: iproute2 splits on blanks and honours double quotes. */
function batchLine(args: readonly string[]): string {
  return args.map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

function heredoc(cmd: string, body: string, delim: string): string {
  if (body.split('\n').includes(delim)) throw new Error(`a script line equals the heredoc delimiter ${delim}`);
  return `${cmd} <<'${delim}'\n${body.endsWith('\n') ? body : `${body}\n`}${delim}`;
}

function isOptional(op: LinkOp): boolean {
  return op.kind === 'ip' && op.optional === true;
}

/** The commands of ops that all run in one namespace, in order (consecutive `ip` steps share one `ip -batch`). */
function renderSteps(ops: readonly LinkOp[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ops.length; ) {
    const op = ops[i] as LinkOp;
    if (op.kind === 'ip' && op.optional === true) {
      // A nicety: its failure (and its message) is dropped.
      out.push(`ip ${op.args.map(shellQuote).join(' ')} </dev/null >/dev/null 2>&1 || true`);
      i++;
    } else if (op.kind === 'ip') {
      const lines: string[] = [];
      let j = i;
      for (; j < ops.length; j++) {
        const o = ops[j] as LinkOp;
        if (o.kind !== 'ip' || isOptional(o)) break;
        lines.push(batchLine(o.args));
      }
      out.push(heredoc('ip -batch -', lines.join('\n'), 'TSC_IP_EOF'));
      i = j;
    } else if (op.kind === 'sysctl') {
      // /proc/sys/net shows the namespace of whoever opens it: here, the shell's.
      out.push(`printf %s ${shellQuote(op.value)} > ${shellQuote(`/proc/sys/${op.key.replaceAll('.', '/')}`)}`);
      i++;
    } else if (op.kind === 'nft') {
      out.push(heredoc('nft -f -', op.script, 'TSC_NFT_EOF'));
      i++;
    } else {
      out.push(`${op.argv.map(shellQuote).join(' ')} </dev/null`);
      i++;
    }
  }
  return out;
}

/**
 * One `sh` script that carries out the ops in order and stops at the first failure: the
 * host's steps directly, each run of steps in one namespace inside one `nsenter --net=PATH sh`
 * (sysctls written by that shell, which sees the namespace's /proc/sys/net). Pure, so a plan
 * of a dozen steps costs one process start from Node instead of a dozen.
 */
export function renderLinkScript(ops: readonly LinkOp[]): string {
  const out = ['set -e'];
  for (let i = 0; i < ops.length; ) {
    const netns = (ops[i] as LinkOp).netns;
    let j = i;
    while (j < ops.length && (ops[j] as LinkOp).netns === netns) j++;
    const steps = renderSteps(ops.slice(i, j));
    if (netns === undefined) out.push(...steps);
    else out.push(heredoc(`nsenter --net=${shellQuote(netns)} -- sh -e`, ['set -e', ...steps].join('\n'), 'TSC_NS_EOF'));
    i = j;
  }
  return `${out.join('\n')}\n`;
}

/**
 * Carry out ops, stopping at the first failure (ERR_NETWORK naming the step): as one `@links`
 * request when tsc-spawn is in use and every op has a form the built-in knows (no program
 * started: ~2.5 ms of CPU per connect instead of ~9; bench/up/links.ts), else applyLinkOpsByScript.
 * `TSC_COMPOSE_NATIVE_LINKS=0` keeps the script path (for comparing the two).
 */
export async function applyLinkOps(ops: readonly LinkOp[]): Promise<void> {
  if (ops.length === 0) return;
  const native = process.env['TSC_COMPOSE_NATIVE_LINKS'] !== '0' ? renderNativeLinkOps(ops) : undefined;
  // Without tsc-spawn (or with one that lacks the built-in) nothing ran: the script does it all.
  if (native !== undefined && (await runBuiltinCommand(['@links'], { input: native })) !== undefined) return;
  await applyLinkOpsByScript(ops);
}

/**
 * The ops as programs: one process from Node (`sh -s`, the script on stdin) however many
 * steps; a plan that is one `ip -batch` of the host (a detach) runs as that alone.
 */
export async function applyLinkOpsByScript(ops: readonly LinkOp[]): Promise<void> {
  if (ops.length === 0) return;
  if (ops.every((o) => o.kind === 'ip' && o.netns === undefined && o.optional !== true)) {
    await runCommand(['ip', '-batch', '-'], { input: `${ops.map((o) => batchLine((o as { args: string[] }).args)).join('\n')}\n` });
    return;
  }
  await runCommand(['sh', '-s'], { input: renderLinkScript(ops) });
}

/** Remote VTEPs of a VXLAN device's all-zero FDB entries (`bridge -json fdb show`). */
export async function readVxlanPeers(device: string, netns?: string): Promise<string[]> {
  const { stdout } = await runCommand(['bridge', '-json', 'fdb', 'show', 'dev', device], { netns });
  const rows = JSON.parse(stdout === '' ? '[]' : stdout) as { mac?: string; dst?: string }[];
  return rows.filter((r) => r.mac === '00:00:00:00:00:00' && r.dst !== undefined).map((r) => r.dst as string);
}
