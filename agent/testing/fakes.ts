/**
 * Fakes at the executor edge (swarmkit's agent/testutils): a runtime whose processes are
 * promises the test ends, an image service that knows every image but "missing", and a
 * network service that hands out addresses. For unit tests of the agent core and of the
 * reconciler only; the real parts are exercised by the privileged tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import type { ContainerSpec } from '../api/types.js';
import type { ContainerRuntime, ExitStatus, ImageService, NetworkService, RuntimeStatus } from '../backends.js';
import { matchesLabels } from '../label-filter.js';
import { createNodeAgent, type NodeAgent } from '../node-agent.js';
import { createVolumeStore } from '../volumes.js';

export interface FakeProc {
  status: RuntimeStatus;
  exit: Promise<ExitStatus>;
  finish: (code: number, oom?: boolean) => void;
  signals: string[];
}

export function fakeRuntime(
  behaviour: { onStart?: (id: string, p: FakeProc) => void; ignoreTerm?: boolean; execExitCode?: (args: readonly string[]) => number } = {},
) {
  const procs = new Map<string, FakeProc>();
  const starts: string[] = [];
  /** Every exec and kill, in order, as `exec <args>` / `kill <signal>`: hooks are checked by it. */
  const calls: string[] = [];
  const rt: ContainerRuntime = {
    name: 'fake',
    async create(id) {
      let finish!: FakeProc['finish'];
      const exit = new Promise<ExitStatus>((resolve) => {
        finish = (code, oom = false) => {
          const p = procs.get(id);
          if (p) p.status = 'stopped';
          resolve({ exitCode: code, oomKilled: oom, finishedAt: new Date().toISOString() });
        };
      });
      procs.set(id, { status: 'created', exit, finish, signals: [] });
      return { pid: 1 };
    },
    async start(id) {
      const p = procs.get(id);
      if (!p) throw new Error('not created');
      p.status = 'running';
      starts.push(id);
      behaviour.onStart?.(id, p);
    },
    async state(id) {
      const p = procs.get(id);
      return p && { status: p.status, pid: 1 };
    },
    async kill(id, signal) {
      const p = procs.get(id);
      if (!p) return;
      p.signals.push(signal);
      calls.push(`kill ${signal}`);
      if (signal === 'SIGKILL') p.finish(137);
      else if (!behaviour.ignoreTerm) p.finish(143);
    },
    async pause(id) {
      const p = procs.get(id);
      if (p) p.status = 'paused';
    },
    async resume(id) {
      const p = procs.get(id);
      if (p) p.status = 'running';
    },
    async delete(id) {
      procs.delete(id);
    },
    async exec(_id, proc) {
      calls.push(`exec ${proc.args.join(' ')}${proc.user === undefined ? '' : ` as ${proc.user}`}${proc.env === undefined ? '' : ` env ${proc.env.join(',')}`}`);
      const exitCode = behaviour.execExitCode?.(proc.args) ?? 0;
      return { exitCode, stdout: exitCode === 0 ? 'ok\n' : '', stderr: exitCode === 0 ? '' : 'failed\n' };
    },
    async waitExit(id) {
      const p = procs.get(id);
      if (!p) throw new Error(`no process ${id}`);
      return p.exit;
    },
  };
  return { rt, procs, starts, calls };
}

export const fakeImages: ImageService = {
  resolve: async (ref) => (ref === 'missing' ? undefined : { id: 'sha256:img', ref, config: { Cmd: ['sh'], Env: ['PATH=/usr/bin:/bin'] } }),
  pull: async (ref) => {
    if (ref === 'missing') throw new TscError('ERR_IMAGE', `pull access denied for ${ref}`);
    return { id: 'sha256:img', ref, config: { Cmd: ['sh'], Env: ['PATH=/usr/bin:/bin'] } };
  },
  push: async (ref) => ({ name: ref, digest: 'sha256:manifest' }),
  tag: async () => {},
  list: async () => [],
  remove: async () => {},
  load: async () => ['docker.io/library/busybox:latest'],
  inspect: async (ref) => ({ Id: 'sha256:img', RepoTags: [ref] }),
  save: async () => {},
  prune: async () => ({ reclaimedBytes: 0, removed: 0 }),
  prepareRootfs: async (_img, id) => `/rootfs/${id}`,
  releaseRootfs: async () => {},
};

/** A network service that remembers networks and hands out addresses in order. */
export function fakeNetworks(): NetworkService {
  const nets = new Map<string, { id: string; name: string; driver: string; labels: Record<string, string>; subnets: string[]; internal: boolean }>();
  return {
    create: async (s) => {
      const n = { id: s.name, name: s.name, driver: 'bridge', labels: s.labels, subnets: [], internal: s.internal };
      nets.set(s.name, n);
      return n;
    },
    remove: async (name) => {
      nets.delete(name);
    },
    list: async (filter) => [...nets.values()].filter((n) => matchesLabels(n.labels, filter?.label)),
    createSandbox: async (id) => `/run/netns/${id}`,
    removeSandbox: async () => {},
    connect: async (_id, _sb, args) => ({
      endpoints: args.endpoints.map((ep, i) => ({ network: ep.network, ipAddress: `172.18.0.${i + 2}`, macAddress: '02:42:ac:12:00:02', gateway: '172.18.0.1', aliases: ep.aliases })),
      ports: args.ports.map((p) => ({ ...p, hostPort: Number(p.published) })),
    }),
    etcFiles: async (name, o) => ({ hosts: `127.0.0.1\tlocalhost\n172.18.0.2\t${o.hostname}\n`, hostname: `${o.hostname}\n`, resolvConf: 'nameserver 127.0.0.11\noptions ndots:0\n' }),
    disconnect: async () => {},
  };
}

export function containerSpec(name: string, extra: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name,
    image: 'busybox',
    labels: { 'com.docker.compose.project': 'p' },
    env: {},
    tty: false,
    openStdin: false,
    init: false,
    readOnlyRootfs: false,
    privileged: false,
    capAdd: [],
    capDrop: [],
    securityOpt: [],
    sysctls: {},
    ulimits: [],
    devices: [],
    mounts: [],
    networkMode: 'default',
    endpoints: [{ network: 'p_default', aliases: ['web'] }],
    ports: [],
    exposedPorts: [],
    extraHosts: [],
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    restartPolicy: { name: 'no' },
    resources: {},
    logConfig: { driver: 'json-file', options: {} },
    ...extra,
  };
}



/** A node agent over the fakes, in a temp state dir; `dispose` removes it. */
export async function fakeNodeAgent(rt: ContainerRuntime = fakeRuntime().rt): Promise<NodeAgent & { dir: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tsc-agent-'));
  const agent = createNodeAgent({
    stateDir: dir,
    runtime: rt,
    images: fakeImages,
    networks: fakeNetworks(),
    bundles: { write: async ({ containerId }) => `/bundles/${containerId}` },
    volumes: createVolumeStore(join(dir, 'volumes')),
  });
  return {
    ...agent,
    dir,
    async dispose() {
      await agent.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
