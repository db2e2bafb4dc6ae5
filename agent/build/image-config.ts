/**
 * The image config a stage ends up with, as a pure fold over its expanded instructions
 * (BuildKit's dispatchEnv/Cmd/Entrypoint/...): Env replaced in place or appended, WORKDIR
 * resolved against the previous one, EXPOSE normalised to `port/proto`, and the ENTRYPOINT/CMD
 * rule of the Docker reference: a shell form runs under the current SHELL, and setting
 * ENTRYPOINT clears a CMD inherited from the base image (not one set earlier in this stage).
 * The base image's ONBUILD triggers are handed back for the builder to run first; they are not
 * inherited.
 */
import path from 'node:path';

import { TscError } from '../../lib/errors.js';
import type { ImageRuntimeConfig } from '../images/media-types.js';
import type { CommandLine, Instruction } from './dockerfile-parse.js';

export type StageImageConfig = ImageRuntimeConfig & { OnBuild?: string[] | undefined };

export interface StageConfigResult {
  config: StageImageConfig;
  /** MAINTAINER, stored as the image's `author`. */
  author?: string;
  /** The base image's ONBUILD triggers, to run before the stage's own instructions. */
  baseTriggers: string[];
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

function withShell(config: StageImageConfig, cmd: CommandLine): string[] {
  if (!cmd.prependShell) return cmd.args;
  const shell = config.Shell !== undefined && config.Shell.length > 0 ? config.Shell : DEFAULT_SHELL;
  return [...shell, cmd.args.join(' ')];
}

function setEnv(env: string[], key: string, value: string): string[] {
  const out = [...env];
  const at = out.findIndex((kv) => kv === key || kv.startsWith(key + '='));
  if (at >= 0) out[at] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

/** EXPOSE values as nat.ParsePortSpecs keeps them: `port/proto`, ranges expanded. */
export function exposedPorts(spec: string, where: { file: string; line: number }): string[] {
  const fail = (m: string): never => {
    throw new TscError('ERR_DOCKERFILE', `EXPOSE: ${m}`, where);
  };
  const slash = spec.lastIndexOf('/');
  const portPart = slash < 0 ? spec : spec.slice(0, slash);
  const proto = (slash < 0 ? 'tcp' : spec.slice(slash + 1)).toLowerCase();
  if (!PROTOS.has(proto)) fail(`Invalid proto: ${proto}`);
  const container = portPart.split(':').pop() ?? '';
  const m = /^(\d+)(?:-(\d+))?$/.exec(container);
  if (m === null) return fail(`Invalid containerPort: ${container}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) fail(`Invalid containerPort: ${container}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

/** Fold a stage's expanded instructions over its base image's config. */
export function foldImageConfig(
  base: StageImageConfig,
  instructions: Instruction[],
  opts: { file?: string } = {},
): StageConfigResult {
  const file = opts.file ?? 'Dockerfile';
  let config: StageImageConfig = { ...base, OnBuild: undefined };
  const baseTriggers = base.OnBuild ?? [];
  let author: string | undefined;
  let cmdSet = false;
  for (const instr of instructions) {
    switch (instr.kind) {
      case 'ENV': {
        let env = config.Env ?? [];
        for (const p of instr.pairs) env = setEnv(env, p.key, p.value);
        config = { ...config, Env: env };
        break;
      }
      case 'LABEL': {
        const labels = { ...(config.Labels ?? {}) };
        for (const p of instr.pairs) labels[p.key] = p.value;
        config = { ...config, Labels: labels };
        break;
      }
      case 'WORKDIR': {
        const wd = path.posix.isAbsolute(instr.value)
          ? path.posix.normalize(instr.value)
          : path.posix.join('/', config.WorkingDir ?? '', instr.value);
        config = { ...config, WorkingDir: wd.length > 1 ? wd.replace(/\/+$/, '') : wd };
        break;
      }
      case 'USER':
        config = { ...config, User: instr.value };
        break;
      case 'EXPOSE': {
        const ports = { ...(config.ExposedPorts ?? {}) };
        for (const v of instr.values) for (const p of exposedPorts(v, { file, line: instr.line })) ports[p] = {};
        config = { ...config, ExposedPorts: ports };
        break;
      }
      case 'VOLUME': {
        const vols = { ...(config.Volumes ?? {}) };
        for (const v of instr.values) vols[v] = {};
        config = { ...config, Volumes: vols };
        break;
      }
      case 'STOPSIGNAL':
        config = { ...config, StopSignal: instr.value };
        break;
      case 'SHELL':
        config = { ...config, Shell: instr.shell };
        break;
      case 'CMD':
        config = { ...config, Cmd: withShell(config, instr.command) };
        cmdSet = true;
        break;
      case 'ENTRYPOINT': {
        const ep = instr.command.args.length === 0 && !instr.command.prependShell ? null : withShell(config, instr.command);
        config = { ...config, Entrypoint: ep };
        if (!cmdSet) config = { ...config, Cmd: null };
        break;
      }
      case 'HEALTHCHECK': {
        const hc = instr.test[0] === 'NONE'
          ? { Test: ['NONE'] }
          : {
              Test: instr.test,
              Interval: instr.interval,
              Timeout: instr.timeout,
              StartPeriod: instr.startPeriod,
              StartInterval: instr.startInterval,
              Retries: instr.retries,
            };
        config = { ...config, Healthcheck: hc };
        break;
      }
      case 'ONBUILD':
        config = { ...config, OnBuild: [...(config.OnBuild ?? []), instr.expression] };
        break;
      case 'MAINTAINER':
        author = instr.value;
        break;
      default:
        break;
    }
  }
  if (config.OnBuild === undefined) delete config.OnBuild;
  return { config, ...(author === undefined ? {} : { author }), baseTriggers };
}

/** What a container of the image runs by default: ENTRYPOINT then CMD (the reference's table). */
export function defaultCommand(config: StageImageConfig): string[] {
  return [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
}
