/**
 * Compose Watch's rules, compiled from the Project: which host paths belong to which service's
 * rule, which are ignored, and where a changed file goes in the container. Pure: the
 * `.dockerignore` text is handed in, nothing is read here.
 *
 * What is checked, each with a message naming the rule (`services.web.develop.watch[1]`):
 * a sync action without `target`, `sync+exec` without `exec.command`, `rebuild` on a service
 * without `build`, and a path outside the service's context (its build context, or the
 * project directory for a service that builds nothing). A sync rule whose path lies inside a
 * bind mount of the same service is skipped with a warning, as docker compose does; a bind
 * mount inside a rule's path only takes that subtree out of the rule.
 */
import { posix } from 'node:path';

import { compileDockerignore, parseDockerignore, type DockerIgnore } from '../../agent/build/dockerignore.js';
import { TscError } from '../../lib/errors.js';
import type { Project, ServiceHook, WatchRule } from '../../schema/project.js';

export type WatchAction = WatchRule['action'];

export interface CompiledRule {
  service: string;
  /** Position in `develop.watch`, for messages. */
  index: number;
  action: WatchAction;
  /** Absolute host path (a directory or a file). */
  path: string;
  /** Absolute path in the container; set for the sync actions. */
  target?: string;
  exec?: ServiceHook;
  initialSync: boolean;
  /** Host directories below `path` that a bind mount of the service covers: left out. */
  skip: string[];
  /** `ignore`, relative to `path`. */
  ignore: DockerIgnore;
  /** `include`, relative to `path`: when set, only what it matches counts. */
  include?: DockerIgnore;
  /** The context's `.dockerignore`, relative to `contextDir`. */
  contextDir: string;
  contextIgnore?: DockerIgnore;
}

export interface CompileOptions {
  /** Services named on the command line; empty for every service with watch rules. */
  services?: readonly string[];
  /** The text of `<dir>/.dockerignore`, or undefined when there is none. */
  readDockerignore(dir: string): string | undefined;
  /** Where a key path was written (the loader's PositionTable `nearest`), for messages. */
  position?: (path: string) => { file: string; line: number; col: number } | undefined;
}

export interface WatchSetup {
  rules: CompiledRule[];
  /**
   * Service → the services that must follow it when it restarts or is recreated
   * (`depends_on: { <it>: { restart: true } }`); their dependencies are left alone.
   */
  restartWith: Record<string, string[]>;
  /** Warnings to show once (skipped rules, left-out subtrees). */
  warnings: string[];
}

/** Files editors and tools write next to the real ones: never synced (compose's ephemeral set). */
const EPHEMERAL = compileDockerignore(['**/.git', '**/*.swp', '**/*.swx', '**/*~', '**/.#*', '**/#*#', '**/4913', '**/*___jb_old___', '**/*___jb_tmp___', '**/.DS_Store']);

const SYNC_ACTIONS: ReadonlySet<WatchAction> = new Set(['sync', 'sync+restart', 'sync+exec']);

export const isSyncAction = (a: WatchAction): boolean => SYNC_ACTIONS.has(a);

/** `child` is `parent` or below it (absolute, normalized paths). */
export function within(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

export function compileWatchRules(project: Project, opts: CompileOptions): WatchSetup {
  const wanted = opts.services !== undefined && opts.services.length > 0 ? new Set(opts.services) : undefined;
  for (const name of wanted ?? []) {
    if (project.services[name] === undefined) throw new TscError('ERR_USAGE', `no such service: ${name}`);
  }
  const rules: CompiledRule[] = [];
  const warnings: string[] = [];
  const ignoreFiles = new Map<string, DockerIgnore | undefined>();
  for (const [name, svc] of Object.entries(project.services)) {
    if (wanted !== undefined && !wanted.has(name)) continue;
    const watch = svc.develop?.watch ?? [];
    const contextDir = posix.normalize(svc.build?.context ?? project.workingDir);
    if (!ignoreFiles.has(contextDir)) {
      const text = svc.build === undefined ? undefined : opts.readDockerignore(contextDir);
      ignoreFiles.set(contextDir, text === undefined ? undefined : parseDockerignore(text, posix.join(contextDir, '.dockerignore')));
    }
    const binds = (svc.volumes ?? []).flatMap((v) => (v.type === 'bind' && v.source !== undefined ? [posix.normalize(v.source)] : []));
    watch.forEach((w, index) => {
      const at = `services.${name}.develop.watch[${index}]`;
      const where = (key: string) => ({ ...opts.position?.(`${at}.${key}`), path: `${at}.${key}` });
      const path = posix.normalize(w.path);
      if (isSyncAction(w.action) && (w.target === undefined || w.target === '')) {
        throw new TscError('ERR_COMPOSE_INVALID', `action "${w.action}" needs a target (the path in the container to sync ${w.path} to)`, where('target'));
      }
      if (w.target !== undefined && !posix.isAbsolute(w.target)) {
        throw new TscError('ERR_COMPOSE_INVALID', `target "${w.target}" must be an absolute path in the container`, where('target'));
      }
      if (w.action === 'sync+exec' && (w.exec?.command === undefined || w.exec.command.length === 0)) {
        throw new TscError('ERR_COMPOSE_INVALID', `action "sync+exec" needs exec.command`, where('exec'));
      }
      if (w.action === 'rebuild' && svc.build === undefined) {
        throw new TscError('ERR_COMPOSE_INVALID', `can't watch with action "rebuild" on service ${name} without a build context`, where('action'));
      }
      if (!within(contextDir, path)) {
        throw new TscError('ERR_COMPOSE_INVALID', `path ${w.path} is outside the context of service ${name} (${contextDir})`, {
          ...where('path'),
          hint: svc.build === undefined ? 'a service without build: watches paths inside the project directory' : 'watch paths must lie inside the service\'s build context',
        });
      }
      const skip: string[] = [];
      if (isSyncAction(w.action)) {
        if (binds.some((b) => within(b, path))) {
          warnings.push(`path '${w.path}' also declared by a bind mount volume, this path won't be monitored!`);
          return;
        }
        for (const b of binds.filter((b) => within(path, b))) {
          warnings.push(`path '${b}' is bind mounted in service ${name}: changes below it are not synced by ${at}`);
          skip.push(b);
        }
      }
      const contextIgnore = ignoreFiles.get(contextDir);
      rules.push({
        service: name,
        index,
        action: w.action,
        path,
        ...(w.target === undefined ? {} : { target: posix.normalize(w.target) }),
        ...(w.exec === undefined ? {} : { exec: w.exec }),
        initialSync: w.initial_sync === true,
        skip,
        ignore: compileDockerignore(w.ignore ?? [], `${at}.ignore`),
        ...(w.include === undefined || w.include.length === 0 ? {} : { include: compileDockerignore(w.include, `${at}.include`) }),
        contextDir,
        ...(contextIgnore === undefined ? {} : { contextIgnore }),
      });
    });
  }
  if (rules.length === 0 && warnings.length === 0) {
    throw new TscError('ERR_USAGE', "none of the selected services is configured for watch, consider setting a 'develop' section");
  }
  const restartWith: Record<string, string[]> = {};
  for (const service of new Set(rules.map((r) => r.service))) {
    const followers = Object.entries(project.services)
      .filter(([, svc]) => svc.depends_on?.[service]?.restart === true)
      .map(([n]) => n);
    if (followers.length > 0) restartWith[service] = followers;
  }
  return { rules, warnings, restartWith };
}

/** Does `rule` take this host path, and where does it go in the container? */
export function ruleTakes(rule: CompiledRule, hostPath: string, isDir = false): { containerPath?: string } | undefined {
  const p = posix.normalize(hostPath);
  if (!within(rule.path, p)) return undefined;
  if (rule.skip.some((s) => within(s, p))) return undefined;
  const rel = posix.relative(rule.path, p);
  if (rel !== '') {
    if (EPHEMERAL.matches(rel) || rule.ignore.matches(rel)) return undefined;
    // Include picks files; directories are let through so that what they hold can be reached.
    if (rule.include !== undefined && !isDir && !rule.include.matches(rel)) return undefined;
  }
  const relCtx = posix.relative(rule.contextDir, p);
  if (rule.contextIgnore !== undefined && relCtx !== '' && rule.contextIgnore.matches(relCtx)) return undefined;
  if (rule.target === undefined) return {};
  return { containerPath: rel === '' ? rule.target : posix.join(rule.target, rel) };
}

/**
 * False when no rule needs anything at or below this directory: the watcher need not descend
 * (keeps inotify watches off `node_modules` and the like).
 */
export function shouldWatchDir(rules: readonly CompiledRule[], dir: string): boolean {
  const p = posix.normalize(dir);
  for (const rule of rules) {
    // An ancestor of a rule's path (the watcher may start above it).
    if (within(p, rule.path)) return true;
    if (!within(rule.path, p) || rule.skip.some((s) => within(s, p))) continue;
    const rel = posix.relative(rule.path, p);
    if (rel !== '' && (EPHEMERAL.matches(rel) || !rule.ignore.shouldDescend(rel))) continue;
    const relCtx = posix.relative(rule.contextDir, p);
    if (rule.contextIgnore !== undefined && relCtx !== '' && !rule.contextIgnore.shouldDescend(relCtx)) continue;
    return true;
  }
  return false;
}
