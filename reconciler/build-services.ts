/**
 * Building a project's images, as `docker compose build` does: each service with a `build:`
 * section becomes one build on the agent, named as compose v2 names it (`image:` when given,
 * else `<project>-<service>`) plus its `build.tags`. `tsc-compose build`, `up --build`, `up`
 * of a service whose image is missing and `watch`'s rebuild action all come through here.
 */
import type { AgentApi, BuildProgress, BuildSpec } from '../agent/api/types.js';
import { TscError } from '../lib/errors.js';
import { resource, type Reporter } from '../lib/progress.js';
import { parseBytes } from '../lib/units.js';
import { settleAll } from '../lib/settle-all.js';
import type { Project, ServiceConfig } from '../schema/project.js';
import type { UpOptions } from './up.js';

export interface BuildServicesOptions {
  noCache?: boolean | undefined;
  pull?: boolean | undefined;
  /** `--build-arg KEY=VALUE`: over the compose file's `build.args`. */
  buildArgs?: Record<string, string> | undefined;
  /** Only the result lines, no steps (`build -q` prints nothing at all). */
  quiet?: boolean | undefined;
}

/** The image name a service runs: `image:`, else `<project>-<service>` (compose v2). */
export function serviceImageName(project: Project, s: ServiceConfig): string {
  return s.image ?? `${project.name}-${s.name}`;
}

function stringMap(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (Array.isArray(v)) {
    const out: Record<string, string> = {};
    for (const item of v) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq > 0) out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) if (val !== null && val !== undefined) out[k] = String(val);
  return out;
}

function hostList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((h) => String(h).replace('=', ':'));
  return Object.entries(v as Record<string, unknown>).map(([h, ip]) => `${h}:${Array.isArray(ip) ? String(ip[0]) : String(ip)}`);
}

/** The agent's build request for a service, or undefined when it has no `build:`. */
export function serviceBuildSpec(project: Project, s: ServiceConfig, opts: BuildServicesOptions = {}): BuildSpec | undefined {
  const b = s.build;
  if (b === undefined) return undefined;
  if (/^(https?|git):\/\/|^git@/.test(b.context)) {
    throw new TscError('ERR_UNSUPPORTED', `services.${s.name}.build.context: a remote build context (${b.context}) is not supported offline`, { path: `services.${s.name}.build.context` });
  }
  const tags = [serviceImageName(project, s), ...((b['tags'] as string[] | undefined) ?? [])];
  const shm = b['shm_size'];
  const spec: BuildSpec = {
    context: b.context,
    tags: [...new Set(tags)],
    buildArgs: { ...stringMap(b.args), ...(opts.buildArgs ?? {}) },
    labels: stringMap(b.labels),
    noCache: opts.noCache === true || b['no_cache'] === true,
    pull: opts.pull === true || b['pull'] === true,
  };
  if (b.dockerfile_inline !== undefined) spec.dockerfileInline = b.dockerfile_inline;
  else if (b.dockerfile !== undefined) spec.dockerfile = b.dockerfile;
  if (b.target !== undefined) spec.target = b.target;
  if (typeof b['network'] === 'string') spec.network = b['network'];
  if (typeof shm === 'string' || typeof shm === 'number') spec.shmSizeBytes = parseBytes(shm);
  const hosts = hostList(b['extra_hosts']);
  if (hosts.length > 0) spec.extraHosts = hosts;
  return spec;
}

/** Report one build event as a progress line under the image's line. */
function reportStep(reporter: Reporter, service: string, parentId: string, p: BuildProgress): void {
  const id = `${service} ${p.step}`;
  switch (p.status) {
    case 'started':
      reporter.emit({ id, parentId, status: 'Building', state: 'working' });
      break;
    case 'cached':
      reporter.emit({ id, parentId, status: 'CACHED', state: 'done' });
      break;
    case 'done':
      reporter.emit({ id, parentId, status: 'DONE', state: 'done' });
      break;
    case 'error':
      reporter.emit({ id, parentId, status: 'ERROR', state: 'error', ...(p.text === undefined ? {} : { text: p.text }) });
      break;
    case 'output':
      for (const line of (p.text ?? '').split('\n')) {
        if (line.trim() !== '') reporter.emit({ id, parentId, status: 'Building', state: 'working', text: line.trimEnd() });
      }
      break;
  }
}

/**
 * Build `services` (all that have `build:` when empty), side by side; resolves with each
 * built service's image ID.
 */
export async function buildServices(agent: AgentApi, project: Project, services: readonly string[], opts: BuildServicesOptions, reporter: Reporter): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of services) {
    if (project.services[name] === undefined) throw new TscError('ERR_USAGE', `no such service: ${name}`);
  }
  const chosen = Object.values(project.services).filter((s) => (services.length === 0 || services.includes(s.name)) && s.build !== undefined);
  // Side by side, as docker compose builds; every build is waited for before an error is thrown.
  await settleAll(
    chosen.map(async (s) => {
      const spec = serviceBuildSpec(project, s, opts) as BuildSpec;
      const id = resource.image(spec.tags[0] as string);
      reporter.emit({ id, status: 'Building', state: 'working' });
      try {
        const r = await agent.buildImage(spec, (p) => {
          if (opts.quiet !== true) reportStep(reporter, s.name, id, p);
        });
        out.set(s.name, r.id);
        reporter.emit({ id, status: 'Built', state: 'done' });
      } catch (e) {
        reporter.emit({ id, status: 'Error', state: 'error', text: e instanceof Error ? e.message : String(e) });
        throw e;
      }
    }),
  );
  return out;
}

/**
 * The `build` option of `up` for a project: every service with `build:` is built when
 * `always` (`up --build`), when its pull_policy is `build`, or when its image is missing.
 */
export function upBuildOption(agent: AgentApi, project: Project, always: boolean, reporter: Reporter): NonNullable<UpOptions['build']> {
  return {
    services: new Set(Object.values(project.services).filter((s) => s.build !== undefined).map((s) => s.name)),
    always,
    run: async (service: string) => (await buildServices(agent, project, [service], {}, reporter)).get(service) as string,
  };
}
