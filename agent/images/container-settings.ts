/**
 * What an image's config means for a container, with the compose service's settings on top,
 * as the Docker daemon merges them (daemon/commit.go `merge`, container env set-up):
 *  - argv is Entrypoint ++ Cmd. A compose `entrypoint` replaces the image's and resets the
 *    image's Cmd (Docker: "--entrypoint clears any default command"); `command` replaces Cmd.
 *    Shell forms are already `["/bin/sh","-c","..."]` in the image config, so the Dockerfile
 *    reference's ENTRYPOINT/CMD table is this concatenation.
 *  - env: PATH (default unless the image or service sets it), HOSTNAME, TERM=xterm with a tty,
 *    then the service's variables, then the image's the service did not set.
 *  - healthcheck: the service's fields win, its unset ones come from the image; ["NONE"]
 *    (compose `disable: true`) turns it off; zero durations get Docker's defaults.
 *  - exposed ports: the union; labels: the service's over the image's; volumes: the image's
 *    VOLUME paths that no service mount covers become anonymous volumes.
 * A pure function: no I/O, so every row of the table is a unit test.
 */
import { TscError } from '../../lib/errors.js';
import type { ImageRuntimeConfig } from './media-types.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SECOND = 1_000_000_000;
export const HEALTH_DEFAULTS = { interval: 30 * SECOND, timeout: 30 * SECOND, startPeriod: 0, startInterval: 5 * SECOND, retries: 3 };

/** Durations in nanoseconds, as the image config and Docker's API carry them. */
export interface HealthcheckOverride {
  /** `["CMD", ...]`, `["CMD-SHELL", "..."]`, `["NONE"]`, or a string (CMD-SHELL). */
  test?: string[] | string | undefined;
  interval?: number | undefined;
  timeout?: number | undefined;
  startPeriod?: number | undefined;
  startInterval?: number | undefined;
  retries?: number | undefined;
  disable?: boolean | undefined;
}

/** The compose service settings that meet the image config (already canonical lists). */
export interface ServiceOverrides {
  /** undefined: not set; `[]` or null: set to empty (clears the image's). */
  entrypoint?: string[] | null | undefined;
  command?: string[] | null | undefined;
  /** A null value is a variable the service names but does not set: not passed on. */
  environment?: Record<string, string | null> | undefined;
  working_dir?: string | undefined;
  user?: string | undefined;
  /** `80`, `8080/udp`, `3000-3002`. */
  expose?: Array<string | number> | undefined;
  /** Container paths the service mounts something at. */
  volumeTargets?: string[] | undefined;
  stop_signal?: string | undefined;
  healthcheck?: HealthcheckOverride | undefined;
  labels?: Record<string, string> | undefined;
  hostname?: string | undefined;
  tty?: boolean | undefined;
}

export interface Healthcheck {
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export interface ContainerSettings {
  /** What runs: entrypoint followed by cmd. */
  args: string[];
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  /** `80/tcp`, sorted by port then protocol. */
  exposedPorts: string[];
  /** Image VOLUME paths that need an anonymous volume. */
  anonymousVolumes: string[];
  stopSignal: string;
  healthcheck: Healthcheck | undefined;
  labels: Record<string, string>;
  /** For CMD-SHELL health checks: the image's SHELL or /bin/sh -c. */
  shell: string[];
}

function envKey(kv: string): string {
  const i = kv.indexOf('=');
  return i === -1 ? kv : kv.slice(0, i);
}

/** Docker's ReplaceOrAppendEnvValues. */
function replaceOrAppend(base: string[], extra: string[]): string[] {
  const out = [...base];
  for (const kv of extra) {
    const i = out.findIndex((b) => envKey(b) === envKey(kv));
    if (i === -1) out.push(kv);
    else out[i] = kv;
  }
  return out;
}

function normalizePort(p: string | number, what: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(String(p).trim());
  if (m === null) throw new TscError('ERR_COMPOSE_INVALID', `${what}: invalid exposed port "${p}"`, { path: 'expose' });
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (from < 1 || to > 65535 || to < from) throw new TscError('ERR_COMPOSE_INVALID', `${what}: invalid exposed port range "${p}"`, { path: 'expose' });
  const out: string[] = [];
  for (let n = from; n <= to; n++) out.push(`${n}/${proto}`);
  return out;
}

function comparePorts(a: string, b: string): number {
  const [pa, qa] = a.split('/');
  const [pb, qb] = b.split('/');
  return Number(pa) - Number(pb) || String(qa).localeCompare(String(qb));
}

function normalizeTest(test: string[] | string | undefined): string[] | undefined {
  if (test === undefined) return undefined;
  if (typeof test === 'string') return test === '' ? undefined : ['CMD-SHELL', test];
  return test.length === 0 ? undefined : test;
}

/** The service's value if set (non-zero), else the image's, else Docker's default. */
function pick(svc: number | undefined, img: number | undefined, fallback: number): number {
  if (svc !== undefined && svc > 0) return svc;
  if (img !== undefined && img > 0) return img;
  return fallback;
}

export function containerSettings(image: ImageRuntimeConfig | undefined, svc: ServiceOverrides = {}, what = 'container'): ContainerSettings {
  const img = image ?? {};
  // Entrypoint and Cmd
  const entrypointSet = svc.entrypoint !== undefined;
  const entrypoint = entrypointSet ? (svc.entrypoint ?? []) : (img.Entrypoint ?? []);
  const cmd = svc.command !== undefined ? (svc.command ?? []) : entrypointSet ? [] : (img.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new TscError('ERR_RUNTIME', `${what}: no command specified (the image has no ENTRYPOINT or CMD, and the service sets neither entrypoint nor command)`);
  }

  // Environment
  const user: string[] = [];
  for (const [k, v] of Object.entries(svc.environment ?? {})) if (v !== null) user.push(`${k}=${v}`);
  const userKeys = new Set(user.map(envKey));
  const merged = [...user, ...(img.Env ?? []).filter((kv) => !userKeys.has(envKey(kv)))];
  const base = [`PATH=${DEFAULT_PATH}`];
  if (svc.hostname !== undefined) base.push(`HOSTNAME=${svc.hostname}`);
  if (svc.tty === true) base.push('TERM=xterm');
  const env = replaceOrAppend(base, merged);

  // Ports
  const ports = new Set<string>();
  for (const p of Object.keys(img.ExposedPorts ?? {})) for (const n of normalizePort(p, what)) ports.add(n);
  for (const p of svc.expose ?? []) for (const n of normalizePort(p, what)) ports.add(n);

  // Volumes
  const clean = (p: string): string => p.replace(/\/+$/, '') || '/';
  const mounted = new Set((svc.volumeTargets ?? []).map(clean));
  const anonymousVolumes = Object.keys(img.Volumes ?? {}).map(clean).filter((p) => !mounted.has(p)).sort();

  // Healthcheck
  let healthcheck: Healthcheck | undefined;
  const ih = img.Healthcheck;
  const sh = svc.healthcheck;
  const test = sh?.disable === true ? ['NONE'] : (normalizeTest(sh?.test) ?? ih?.Test);
  if (test !== undefined && test.length > 0 && test[0] !== 'NONE') {
    healthcheck = {
      test,
      interval: pick(sh?.interval, ih?.Interval, HEALTH_DEFAULTS.interval),
      timeout: pick(sh?.timeout, ih?.Timeout, HEALTH_DEFAULTS.timeout),
      startPeriod: pick(sh?.startPeriod, ih?.StartPeriod, HEALTH_DEFAULTS.startPeriod),
      startInterval: pick(sh?.startInterval, ih?.StartInterval, HEALTH_DEFAULTS.startInterval),
      retries: pick(sh?.retries, ih?.Retries, HEALTH_DEFAULTS.retries),
    };
  }

  return {
    args,
    entrypoint,
    cmd,
    env,
    workingDir: svc.working_dir ?? (img.WorkingDir === undefined || img.WorkingDir === '' ? '/' : img.WorkingDir),
    user: svc.user ?? img.User ?? '',
    exposedPorts: [...ports].sort(comparePorts),
    anonymousVolumes,
    stopSignal: svc.stop_signal ?? (img.StopSignal === undefined || img.StopSignal === '' ? 'SIGTERM' : img.StopSignal),
    healthcheck,
    labels: { ...img.Labels, ...svc.labels },
    shell: img.Shell ?? ['/bin/sh', '-c'],
  };
}
