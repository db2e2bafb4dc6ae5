/**
 * What a container runs: its image's config merged with the spec's overrides the way the
 * Docker daemon merges them (`images/container-settings.ts` holds the rules), and the
 * healthcheck in the units the supervisor counts in.
 */
import type { ContainerSpec, HealthcheckSpec } from './api/types.js';
import type { LocalImage } from './backends.js';
import { containerSettings, type ContainerSettings, type HealthcheckOverride } from './images/container-settings.js';

const NS_PER_MS = 1_000_000;

function healthOverride(spec: ContainerSpec): HealthcheckOverride | undefined {
  const h = spec.healthcheck;
  if (h === undefined) return undefined;
  if (h.test[0] === 'NONE') return { disable: true };
  // 0 means "not set": the image's value, else Docker's default, applies.
  return {
    ...(h.test.length === 0 ? {} : { test: h.test }),
    interval: h.intervalMs * NS_PER_MS,
    timeout: h.timeoutMs * NS_PER_MS,
    startPeriod: h.startPeriodMs * NS_PER_MS,
    startInterval: h.startIntervalMs * NS_PER_MS,
    retries: h.retries,
  };
}

export function settingsFor(spec: ContainerSpec, image: LocalImage): ContainerSettings {
  return containerSettings(
    image.config,
    {
      entrypoint: spec.entrypoint,
      command: spec.command,
      environment: spec.env,
      working_dir: spec.workingDir,
      user: spec.user,
      expose: spec.exposedPorts,
      volumeTargets: spec.mounts.map((m) => m.target),
      stop_signal: spec.stopSignal,
      healthcheck: healthOverride(spec),
      labels: spec.labels,
      hostname: spec.hostname,
      tty: spec.tty,
    },
    `container ${spec.name}`,
  );
}

/** The effective healthcheck in milliseconds, or undefined when there is none. */
export function healthSpecOf(s: ContainerSettings): HealthcheckSpec | undefined {
  const h = s.healthcheck;
  if (h === undefined) return undefined;
  const ms = (ns: number) => Math.round(ns / NS_PER_MS);
  return { test: h.test, intervalMs: ms(h.interval), timeoutMs: ms(h.timeout), retries: h.retries, startPeriodMs: ms(h.startPeriod), startIntervalMs: ms(h.startInterval) };
}
