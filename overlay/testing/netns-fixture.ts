/**
 * Test helpers: network namespaces standing in for containers (and for other machines), with
 * unique names, commands run inside them, background processes, and polling with a deadline.
 * Everything made here is listed so `cleanup()` removes it.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A short unique tag for kernel object names (other agents' tests share the kernel). */
export function uniqueTag(): string {
  return `${process.pid.toString(36).slice(-3)}${randomBytes(3).toString('hex')}`;
}

/** A random 10.x.y.0/24 that no host route covers (for test subnets). */
export async function freeSubnet24(avoid: Set<string> = new Set()): Promise<string> {
  const { stdout } = await run('ip', ['-json', '-4', 'route', 'show', 'table', 'all']);
  const routes = (JSON.parse(stdout) as { dst?: string }[]).map((r) => r.dst ?? '');
  for (;;) {
    const b = randomBytes(2);
    const net = `10.${100 + ((b[0] ?? 0) % 150)}.${b[1] ?? 0}`;
    if (avoid.has(net) || routes.some((r) => r.startsWith(`${net}.`))) continue;
    avoid.add(net);
    return `${net}.0/24`;
  }
}

export interface Fixture {
  netns(name: string): Promise<string>;
  exec(ns: string | undefined, argv: string[], timeoutMs?: number): Promise<{ ok: boolean; stdout: string; stderr: string }>;
  background(ns: string | undefined, argv: string[]): ChildProcess;
  /** A veth from the host to a namespace acting as another machine. */
  machine(name: string, hostIfname: string, hostCidr: string, peerCidr: string, gateway?: string): Promise<string>;
  cleanup(): Promise<void>;
  netnsNames(): string[];
}

export function createFixture(): Fixture {
  const names: string[] = [];
  const links: string[] = [];
  const procs: ChildProcess[] = [];
  const wrap = (ns: string | undefined, argv: string[]): string[] => (ns === undefined ? argv : ['ip', 'netns', 'exec', ns, ...argv]);
  return {
    async netns(name) {
      await run('ip', ['netns', 'add', name]);
      names.push(name);
      return `/run/netns/${name}`;
    },
    async exec(ns, argv, timeoutMs = 5000) {
      const [cmd, ...args] = wrap(ns, argv);
      try {
        const r = await run(cmd as string, args, { timeout: timeoutMs });
        return { ok: true, stdout: r.stdout, stderr: r.stderr };
      } catch (e) {
        const x = e as { stdout?: string; stderr?: string };
        return { ok: false, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
      }
    },
    background(ns, argv) {
      const [cmd, ...args] = wrap(ns, argv);
      const p = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(p);
      return p;
    },
    async machine(name, hostIfname, hostCidr, peerCidr, gateway) {
      const path = await this.netns(name);
      await run('ip', ['link', 'add', hostIfname, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', path]);
      links.push(hostIfname);
      await run('ip', ['addr', 'add', hostCidr, 'dev', hostIfname]);
      await run('ip', ['link', 'set', hostIfname, 'up']);
      const steps = [['link', 'set', 'lo', 'up'], ['addr', 'add', peerCidr, 'dev', 'eth0'], ['link', 'set', 'eth0', 'up']];
      if (gateway !== undefined) steps.push(['route', 'add', 'default', 'via', gateway]);
      for (const c of steps) {
        await run('ip', ['-n', name, ...c]);
      }
      return path;
    },
    async cleanup() {
      for (const p of procs) {
        if (p.exitCode === null && p.pid !== undefined) p.kill('SIGKILL');
      }
      for (const l of links) await run('ip', ['link', 'del', l]).catch(() => undefined);
      for (const n of names) await run('ip', ['netns', 'del', n]).catch(() => undefined);
    },
    netnsNames: () => [...names],
  };
}

/** Poll until `check` is true or the deadline passes; returns the last result. */
export async function waitFor(check: () => Promise<boolean>, deadlineMs = 10_000, stepMs = 100): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
