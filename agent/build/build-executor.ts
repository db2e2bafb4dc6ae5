/**
 * The builder's I/O shell: carries out the pure plan (parse → stage graph → stages the target
 * needs → ARG/ENV expansion → image config fold) against the image store and the runtime.
 * Each stage starts from its base (an image of the store, pulled when missing or with
 * `pull`; `scratch`; or an earlier stage's result); each RUN runs in a container on an overlay
 * of the layers so far, each COPY/ADD writes into that overlay (or, with `--link`, into an
 * empty directory), and the overlay's upper directory becomes the step's layer. A step whose
 * cache key (parent chain + instruction + input digests) has a record is not run again.
 * The final stage's image (config with history, OCI manifest) is stored under every tag.
 * Whatever a step mounts, runs or writes to a temp directory is gone when it ends, failed or not.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, mkdir, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, posix, relative } from 'node:path';

import { TscError } from '../../lib/errors.js';
import { settleAll } from '../../lib/settle-all.js';
import type { BuildProgress, BuildSpec } from '../api/types.js';
import { decompress } from '../images/decompress.js';
import { extractLayer } from '../images/extract-layer.js';
import { getImage } from '../images/image-resolve.js';
import type { ImageLayer, ResolvedImage } from '../images/image-resolve.js';
import type { ImageStore } from '../images/image-store.js';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from '../images/media-types.js';
import { MEDIA, formatPlatform, hostPlatform, parsePlatform, platformMatches } from '../images/media-types.js';
import { normalizeReference } from '../images/reference.js';
import { isMounted, prepareRootfs, removeRootfs } from '../images/rootfs.js';
import { runCommand, umount } from '../images/run-command.js';
import { hasSnapshot, snapshotPath } from '../images/snapshots.js';
import { resolveUser } from '../resolve-user.js';
import type { BuildContext } from './build-context.js';
import { isUrlSource, matchContextSources, openBuildContext } from './build-context.js';
import type { CopyItem, TreeEntry } from './copy-step.js';
import { copyIntoRoot, walkTree } from './copy-step.js';
import type { CopyInstruction, RunInstruction } from './dockerfile-parse.js';
import { parseDockerfile } from './dockerfile-parse.js';
import type { ExpandedInstruction } from './expand-stage.js';
import { expandStage } from './expand-stage.js';
import { compileGlob, hasGlob } from './glob.js';
import { resolveInRoot, mkdirInRoot } from './in-root.js';
import type { StageImageConfig } from './image-config.js';
import { DEFAULT_SHELL, foldImageConfig } from './image-config.js';
import { unescapeGetfattr, writeLayer } from './layer-diff.js';
import type { CacheRecord } from './layer-cache.js';
import { openLayerCache, stepKey } from './layer-cache.js';
import type { BuildNetwork } from './run-step.js';
import { runStep, stepMountTargets, stepSpec } from './run-step.js';
import type { Stage } from './stages.js';
import { buildStageGraph, stagesForTarget } from './stages.js';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What to build: the agent API's `BuildSpec` (one shape from the CLI down to the executor). */
export type BuildRequest = BuildSpec;

/** One line of build progress: a step starting, cached, done or failing, or its output. */
export type BuildEvent = BuildProgress;

export interface BuildResult {
  /** The image ID (config digest). */
  id: string;
  manifestDigest: string;
  /** The names set, normalized. */
  tags: string[];
  steps: number;
  cached: number;
}

export interface BuildEnvironment {
  store: ImageStore;
  /** An OCI runtime binary (the bundled tsc-runtime) and a `--root` for build containers. */
  runtime: string;
  runtimeRoot: string;
  /** Bring an image into the store (a registry pull). */
  pull: (ref: string) => Promise<void>;
  onEvent?: ((e: BuildEvent) => void) | undefined;
  /** Stops the build: between steps, and a running step's container is killed. */
  signal?: AbortSignal | undefined;
}

interface StageState {
  layers: ImageLayer[];
  config: ImageConfig;
  /** The cache chain key after the stage's last step. */
  key: string;
}

function now(): string {
  return new Date().toISOString();
}

function parseNetwork(n: string | undefined): BuildNetwork {
  if (n === undefined || n === '' || n === 'default' || n === 'bridge') return 'default';
  if (n === 'host' || n === 'none') return n;
  throw new TscError('ERR_UNSUPPORTED', `build network "${n}" is not supported: use default, host or none`);
}

async function archiveKind(path: string): Promise<'gzip' | 'tar' | undefined> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Parse a `--chmod` value (octal). */
function parseChmod(v: string | undefined, where: { file: string; line: number; kind: string }): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(v)) throw new TscError('ERR_DOCKERFILE', `${where.kind}: invalid chmod parameter: ${v}`, { file: where.file, line: where.line });
  return parseInt(v, 8);
}

/** Remove overlayfs' bookkeeping xattrs (all but opaque markers) from an upper directory. */
async function stripOverlayXattrs(dir: string): Promise<void> {
  const r = await runCommand('getfattr', ['-R', '-h', '--absolute-names', '-m', '^trusted\\.overlay\\.', dir]);
  let file: string | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = unescapeGetfattr(line.slice(8));
    else if (file !== undefined && line.startsWith('trusted.overlay.') && line !== 'trusted.overlay.opaque') {
      const x = await runCommand('setfattr', ['-h', '-x', line, file]);
      if (x.code !== 0) throw new TscError('ERR_IMAGE', `cannot clear overlay attributes of a build layer: ${x.stderr.trim()}`);
    }
  }
}

export async function buildImage(env: BuildEnvironment, req: BuildRequest): Promise<BuildResult> {
  const { store } = env;
  const emit = (e: BuildEvent): void => env.onEvent?.(e);
  const cache = openLayerCache(store);
  const network = parseNetwork(req.network);
  const dockerfilePath = req.dockerfileInline !== undefined ? undefined : isAbsolute(req.dockerfile ?? 'Dockerfile') ? (req.dockerfile as string) : join(req.context, req.dockerfile ?? 'Dockerfile');
  const file = dockerfilePath === undefined ? 'Dockerfile' : relative(req.context, dockerfilePath).startsWith('..') ? dockerfilePath : relative(req.context, dockerfilePath);
  let text: string;
  if (req.dockerfileInline !== undefined) text = req.dockerfileInline;
  else {
    try {
      text = await readFile(dockerfilePath as string, 'utf8');
    } catch (cause) {
      throw new TscError('ERR_NOT_FOUND', `failed to read dockerfile: open ${dockerfilePath as string}: no such file or directory`, { cause });
    }
  }
  const df = parseDockerfile(text, { file });
  const platform: Platform = hostPlatform();
  const plat = { os: platform.os, architecture: platform.architecture, ...(platform.variant === undefined ? {} : { variant: platform.variant }) };
  const argsCtx = { buildArgs: req.buildArgs ?? {}, buildPlatform: plat, targetPlatform: plat, escape: df.escape, file };
  const graph = buildStageGraph(df, argsCtx);
  const plan = stagesForTarget(graph, req.target, { file });
  let context: BuildContext | undefined;
  const getContext = async (): Promise<BuildContext> => (context ??= await openBuildContext(req.context, dockerfilePath === undefined ? {} : { dockerfile: dockerfilePath }));

  // Everything the build makes or reuses stays out of a garbage collection's reach until it ends.
  let release!: () => void;
  const finished = new Promise<void>((r) => (release = r));
  const held = new Set<string>();
  const hold = (digests: string[]): void => {
    const fresh = digests.filter((d) => !held.has(d));
    for (const d of fresh) held.add(d);
    if (fresh.length > 0) void store.withLease(fresh, () => finished);
  };

  const results = new Map<number, StageState>();
  let steps = 0;
  let cachedSteps = 0;

  async function imageState(ref: string, forcePull: boolean): Promise<ResolvedImage> {
    if (!forcePull) {
      try {
        return await getImage(store, ref, platform);
      } catch (e) {
        if (!(e instanceof TscError && e.code === 'ERR_NOT_FOUND')) throw e;
      }
    }
    await env.pull(ref);
    return getImage(store, ref, platform);
  }

  async function imageStateHeld(ref: string, forcePull: boolean): Promise<ResolvedImage> {
    const img = await imageState(ref, forcePull);
    hold([img.manifestDigest, img.configDigest, ...img.layers.flatMap((l) => [l.blob.digest, l.diffId])]);
    return img;
  }

  const pulledOnce = new Map<string, Promise<ResolvedImage>>();
  const baseImage = (ref: string): Promise<ResolvedImage> => {
    let p = pulledOnce.get(ref);
    if (p === undefined) {
      p = imageStateHeld(ref, req.pull === true);
      pulledOnce.set(ref, p);
    }
    return p;
  };

  /** Mount `layers` (plus a fresh upper) for one step; `fn` works in it; it is always removed. */
  async function withRootfs<T>(layers: ImageLayer[], fn: (r: { merged: string; upper: string; unmount: () => Promise<void> }) => Promise<T>): Promise<T> {
    const id = `build-${randomBytes(8).toString('hex')}`;
    const r = await prepareRootfs(store, { id, layers }).catch(async (e: unknown) => {
      await removeRootfs(store, id).catch(() => {}); // the directories of a mount that failed
      throw e;
    });
    const unmount = async (): Promise<void> => {
      while (await isMounted(r.path)) {
        const u = await umount(r.path);
        if (u.code !== 0) throw new TscError('ERR_RUNTIME', `cannot unmount build step root ${r.path}: ${u.stderr.trim()}`);
      }
    };
    try {
      return await fn({ merged: r.path, upper: r.upper, unmount });
    } finally {
      await removeRootfs(store, id);
    }
  }

  async function commitLayer(state: StageState, key: string, dir: string, overlay: boolean, createdBy: string, exclude?: Set<string>): Promise<CacheRecord> {
    const blob = await writeLayer(store, dir, { overlay, ...(exclude === undefined ? {} : { exclude }) });
    // A step that changed nothing adds no layer (as BuildKit): only a history entry.
    if (blob.entries === 0) {
      const rec: CacheRecord = { layer: blob.digest, size: blob.size, created: now(), createdBy, empty: true };
      await cache.put(key, rec);
      addLayer(state, rec);
      return rec;
    }
    // The directory already is the layer in overlayfs' form (whiteouts, opaque markers): it
    // becomes the snapshot as it is, instead of extracting the blob again for the next step,
    // once overlayfs' own bookkeeping (uuid, impure, origin) is taken off it.
    if (!(await hasSnapshot(store, blob.digest))) {
      for (const rel of exclude ?? []) await rm(join(dir, rel), { recursive: true, force: true });
      if (overlay) await stripOverlayXattrs(dir);
      await rename(dir, snapshotPath(store, blob.digest)).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      });
    }
    const rec: CacheRecord = { layer: blob.digest, size: blob.size, created: now(), createdBy };
    await cache.put(key, rec);
    addLayer(state, rec);
    return rec;
  }

  function addLayer(state: StageState, rec: CacheRecord): void {
    if (rec.empty === true) {
      state.config.history = [...(state.config.history ?? []), { created: rec.created, created_by: rec.createdBy, comment: 'buildkit.dockerfile.v0', empty_layer: true }];
      state.config.created = rec.created;
      return;
    }
    hold([rec.layer]);
    state.layers.push({ blob: { mediaType: MEDIA.ociLayer, digest: rec.layer, size: rec.size }, diffId: rec.layer });
    state.config.rootfs.diff_ids.push(rec.layer);
    state.config.history = [...(state.config.history ?? []), { created: rec.created, created_by: rec.createdBy, comment: 'buildkit.dockerfile.v0' }];
    state.config.created = rec.created;
  }

  async function readUserFiles(root: string): Promise<{ passwd: string; group: string }> {
    const read = async (p: string): Promise<string> => readFile(await resolveInRoot(root, p), 'utf8').catch(() => '');
    return { passwd: await read('/etc/passwd'), group: await read('/etc/group') };
  }

  async function runInstruction(state: StageState, instr: RunInstruction & { argEnv?: { key: string; value: string }[] }, config: StageImageConfig, label: string, key: string): Promise<void> {
    const shell = config.Shell !== undefined && config.Shell.length > 0 ? config.Shell : DEFAULT_SHELL;
    let args: string[];
    if (instr.command.prependShell) {
      let script = instr.command.args.join(' ');
      const only = instr.heredocs.length === 1 && /^<<-?\s*["']?\w+["']?$/.test(script.trim());
      if (only) script = (instr.heredocs[0] as { content: string }).content;
      else if (instr.heredocs.length > 0) script = `${script}\n${instr.heredocs.map((h) => `${h.content}${h.name}\n`).join('')}`;
      args = [...shell, script];
    } else args = instr.command.args;
    const envList = [...(config.Env ?? [])];
    if (!envList.some((e) => e.startsWith('PATH='))) envList.unshift(DEFAULT_PATH);
    const names = new Set(envList.map((e) => e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('='))));
    for (const a of instr.argEnv ?? []) if (!names.has(a.key)) envList.push(`${a.key}=${a.value}`);
    const stepNet = instr.network === undefined ? network : parseNetwork(instr.network);
    const tmp = await store.tempDir('build-run-');
    try {
      await withRootfs(state.layers, async ({ merged, upper, unmount }) => {
        const cwd = config.WorkingDir !== undefined && config.WorkingDir !== '' ? config.WorkingDir : '/';
        const { passwd, group } = await readUserFiles(merged);
        const user = config.User === undefined || config.User === '' ? { uid: 0, gid: 0, additionalGids: [] } : resolveUser(config.User, [], passwd, group);
        if (cwd !== '/') await mkdirInRoot(merged, cwd);
        const hostsFile = join(tmp.path, 'hosts');
        const extra = (req.extraHosts ?? []).map((h) => {
          const i = h.search(/[:=]/);
          return i < 0 ? '' : `${h.slice(i + 1)}\t${h.slice(0, i)}\n`;
        });
        await writeFile(hostsFile, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${extra.join('')}`);
        const id = `build-${randomBytes(8).toString('hex')}`;
        const opts = {
          binary: env.runtime,
          runtimeRoot: env.runtimeRoot,
          id,
          bundleDir: join(tmp.path, 'bundle'),
          rootfs: merged,
          args,
          env: envList,
          cwd,
          user,
          network: stepNet,
          hostsFile,
          extraHosts: req.extraHosts,
          shmSizeBytes: req.shmSizeBytes,
          onOutput: (chunk: string) => emit({ step: label, status: 'output', text: chunk }),
          signal: env.signal,
        };
        // Mount points the runtime will create are not the step's doing: left out of the layer.
        // Directories that hold one only get copied up: also left out when nothing else changed.
        const missing: string[] = [];
        const present = new Map<string, string>();
        const metaOf = (st: Stats): string => `${st.mode}:${st.uid}:${st.gid}`;
        for (const target of stepMountTargets(await stepSpec(opts))) {
          const parts = target.split('/').filter(Boolean);
          for (let i = 1; i <= parts.length; i++) {
            const rel = parts.slice(0, i).join('/');
            if (missing.includes(rel) || present.has(rel)) continue;
            const st = await lstat(join(merged, rel)).catch(() => undefined);
            if (st === undefined) missing.push(rel);
            else if (st.isDirectory() && i < parts.length) present.set(rel, metaOf(st));
          }
        }
        await mkdir(opts.bundleDir);
        const result = await runStep(opts).catch(async (e: unknown) => {
          await runCommand(env.runtime, ['--root', env.runtimeRoot, 'delete', '--force', id]);
          throw e;
        });
        await unmount();
        if (env.signal?.aborted === true) throw new TscError('ERR_CANCELLED', `build cancelled during ${label}`, { file, line: instr.line });
        if (result.exitCode !== 0) {
          const shown = JSON.stringify(args.join(' '));
          throw new TscError('ERR_DOCKERFILE', `${label}: process ${shown} did not complete successfully: exit code: ${result.exitCode}${result.message === '' ? '' : ` (${result.message})`}`, {
            file,
            line: instr.line,
          });
        }
        const exclude = new Set<string>();
        for (const rel of [...missing, ...present.keys()].sort((a, b) => b.split('/').length - a.split('/').length)) {
          const st = await lstat(join(upper, rel)).catch(() => undefined);
          if (st === undefined) continue;
          const before = present.get(rel);
          if (before !== undefined && (!st.isDirectory() || metaOf(st) !== before)) continue;
          if (st.isFile() && st.size === 0) exclude.add(rel);
          else if (st.isDirectory()) {
            const left = (await readdir(join(upper, rel))).filter((n) => !exclude.has(`${rel}/${n}`));
            if (left.length === 0) exclude.add(rel);
          }
        }
        await commitLayer(state, key, upper, true, `RUN ${args.join(' ')} # buildkit`, exclude);
      });
    } finally {
      await tmp.done();
    }
  }

  /** The items a COPY/ADD copies, and the digest of what they read. */
  async function copySources(
    instr: CopyInstruction,
    where: { file: string; line: number; kind: string },
    tmpDir: string,
    sourceRoot: string | undefined,
  ): Promise<CopyItem[]> {
    const items: CopyItem[] = [];
    for (const [i, inline] of instr.inline.entries()) {
      const p = join(tmpDir, `inline-${i}`);
      await writeFile(p, inline.data, { mode: 0o644 });
      const st = await lstat(p);
      items.push({ name: inline.name, entries: [{ rel: '', abs: p, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: st.mtimeMs / 1000 }] });
    }
    for (const src of instr.sources) {
      if (isUrlSource(src)) {
        throw new TscError('ERR_UNSUPPORTED', `${where.kind} ${src}: downloading a URL source is not supported offline`, {
          file: where.file,
          line: where.line,
          hint: 'download the file into the build context and ADD or COPY it from there',
        });
      }
      if (sourceRoot === undefined) {
        const ctx = await getContext();
        for (const e of matchContextSources(ctx, src, where)) {
          const top: TreeEntry = { rel: '', abs: join(ctx.dir, e.rel), type: e.type, mode: e.mode, uid: 0, gid: 0, mtime: e.mtime, link: e.link };
          const below = e.type === 'dir' ? ctx.under(e.rel).map((c) => ({ rel: c.rel.slice(e.rel === '.' ? 0 : e.rel.length + 1), abs: join(ctx.dir, c.rel), type: c.type, mode: c.mode, uid: 0, gid: 0, mtime: c.mtime, link: c.link })) : [];
          items.push({ name: basename(e.rel === '.' ? ctx.dir : e.rel), entries: [top, ...below] });
        }
      } else {
        const clean = posix.normalize(`/${src}`);
        let paths: string[];
        if (hasGlob(clean)) {
          const dir = posix.dirname(clean);
          if (hasGlob(dir)) throw new TscError('ERR_UNSUPPORTED', `${where.kind} --from: a pattern is supported in the last path part only (${src})`, { file: where.file, line: where.line });
          const host = await resolveInRoot(sourceRoot, dir);
          const test = compileGlob(posix.basename(clean));
          paths = (await readdir(host).catch(() => [])).filter((n) => test(n)).sort().map((n) => posix.join(dir, n));
        } else paths = [clean];
        if (paths.length === 0) throw new TscError('ERR_DOCKERFILE', `${where.kind} failed: no source files were specified: ${src}`, { file: where.file, line: where.line });
        for (const p of paths) {
          const host = await resolveInRoot(sourceRoot, p);
          if ((await lstat(host).catch(() => undefined)) === undefined) {
            throw new TscError('ERR_DOCKERFILE', `${where.kind} failed: "${p}" not found in ${instr.from ?? 'the source'}`, { file: where.file, line: where.line });
          }
          const entries = (await walkTree(host)).map((e) => ({ ...e, uid: 0, gid: 0 }));
          items.push({ name: posix.basename(p) || '/', entries });
        }
      }
    }
    return items;
  }

  /** ADD: local tar archives (plain or gzip) become their extracted contents. */
  async function expandArchives(items: CopyItem[], tmpDir: string): Promise<{ items: CopyItem[]; preserve: boolean[] }> {
    const out: CopyItem[] = [];
    const preserve: boolean[] = [];
    let n = 0;
    for (const item of items) {
      const top = item.entries[0];
      if (top?.type === 'file' && item.entries.length === 1 && (await archiveKind(top.abs)) !== undefined) {
        const dir = join(tmpDir, `archive-${n++}`);
        await mkdir(dir);
        await extractLayer(decompress(createReadStream(top.abs), `ADD ${item.name}`), dir, { what: `ADD ${item.name}` });
        out.push({ name: item.name, entries: await walkTree(dir) });
        preserve.push(true);
      } else {
        out.push(item);
        preserve.push(false);
      }
    }
    return { items: out, preserve };
  }

  async function copyInstruction(state: StageState, instr: CopyInstruction, config: StageImageConfig, label: string, parentKey: string): Promise<string> {
    const where = { file, line: instr.line, kind: instr.kind };
    const chmod = parseChmod(instr.chmod, where);
    const workdir = config.WorkingDir !== undefined && config.WorkingDir !== '' ? config.WorkingDir : '/';
    const dest = posix.isAbsolute(instr.dest) ? instr.dest : `${posix.join(workdir, instr.dest)}${instr.dest.endsWith('/') || instr.dest === '.' ? '/' : ''}`;
    // Where --from reads: an earlier stage's result or an image.
    let fromState: StageState | undefined;
    let fromKey = '';
    if (instr.from !== undefined) {
      const byIndex = /^\d+$/.test(instr.from) ? graph.stages[Number(instr.from)] : graph.stages.find((s) => s.name === instr.from?.toLowerCase());
      if (byIndex !== undefined) {
        fromState = results.get(byIndex.index);
        if (fromState === undefined) throw new Error(`stage ${byIndex.index} was not built before stage using it`);
        fromKey = fromState.key;
      } else {
        const img = await baseImage(instr.from);
        fromState = { layers: img.layers, config: img.config, key: img.configDigest };
        fromKey = img.configDigest;
      }
    }
    // The key: what the step reads, by content; a hit needs no mount at all.
    const inputs: string[] = [];
    if (fromState === undefined) {
      const ctx = await getContext();
      for (const src of instr.sources) {
        if (isUrlSource(src)) continue;
        for (const e of matchContextSources(ctx, src, where)) inputs.push(`${e.rel}=${await ctx.digest(e.rel)}`);
      }
    } else inputs.push(`from=${fromKey}`);
    const desc = JSON.stringify({ kind: instr.kind, sources: instr.sources, inline: instr.inline, dest, chown: instr.chown, chmod: instr.chmod, link: instr.link, inputs });
    const key = stepKey(instr.link ? '' : parentKey, desc);
    const hit = req.noCache === true ? undefined : await cache.get(key);
    if (hit !== undefined) {
      cachedSteps++;
      emit({ step: label, status: 'cached' });
      addLayer(state, hit);
      return key;
    }
    const tmp = await store.tempDir('build-copy-');
    try {
      const run = async (sourceRoot: string | undefined): Promise<string> => {
        let items = await copySources(instr, where, tmp.path, sourceRoot);
        let preserve = items.map(() => false);
        if (instr.kind === 'ADD') ({ items, preserve } = await expandArchives(items, tmp.path));
        emit({ step: label, status: 'started' });
        const createdBy = `${instr.kind} ${[...instr.sources, ...instr.inline.map((s) => s.name)].join(' ')} ${instr.dest} # buildkit`;
        await withRootfs(state.layers, async ({ merged, upper, unmount }) => {
          let owner = { uid: 0, gid: 0 };
          if (instr.chown !== undefined) {
            const { passwd, group } = await readUserFiles(merged);
            const u = resolveUser(instr.chown, [], passwd, group);
            owner = { uid: u.uid, gid: u.gid };
          }
          const target = instr.link ? join(tmp.path, 'link-root') : merged;
          if (instr.link) await mkdir(target);
          // Preserved ownership (archive contents) unless --chown was given.
          for (const [i, item] of items.entries()) {
            await copyIntoRoot(target, {
              dest: items.length > 1 || item.entries[0]?.type === 'dir' || preserve[i] === true ? (dest.endsWith('/') ? dest : `${dest}/`) : dest,
              items: [item],
              destIsDir: items.length > 1 || dest.endsWith('/'),
              owner: preserve[i] === true && instr.chown === undefined ? undefined : owner,
              chmod,
              where,
            });
          }
          await unmount();
          if (instr.link) await commitLayer(state, key, target, false, createdBy);
          else await commitLayer(state, key, upper, true, createdBy);
        });
        emit({ step: label, status: 'done' });
        return key;
      };
      if (fromState === undefined) return await run(undefined);
      const src = fromState;
      return await withRootfs(src.layers, async ({ merged }) => run(merged));
    } finally {
      await tmp.done();
    }
  }

  /** Report a step's failure; an error that does not say where gets the step and its line. */
  function failStep(e: unknown, step: string, line: number): unknown {
    emit({ step, status: 'error', text: e instanceof Error ? e.message : String(e) });
    if (e instanceof TscError && e.file === undefined) {
      return new TscError(e.code, `${step}: ${e.message}`, { file, line, hint: e.hint, cause: e });
    }
    return e;
  }

  async function buildStage(stage: Stage): Promise<StageState> {
    const label = (i: number, n: number): string => `[${stage.name ?? `stage-${stage.index}`} ${i}/${n}]`;
    if (stage.from.platform !== undefined && stage.from.platform !== '' && !platformMatches(parsePlatform(stage.from.platform), platform)) {
      throw new TscError('ERR_UNSUPPORTED', `FROM --platform=${stage.from.platform}: this builder builds for ${formatPlatform(platform)} only`, { file, line: stage.from.line });
    }
    let state: StageState;
    let baseRuntime: StageImageConfig;
    if (stage.base.kind === 'stage') {
      const prev = results.get(stage.base.index);
      if (prev === undefined) throw new Error(`stage ${stage.base.index} not built before ${stage.index}`);
      state = { layers: [...prev.layers], config: structuredClone(prev.config), key: prev.key };
    } else if (stage.base.kind === 'scratch') {
      state = { layers: [], config: { architecture: platform.architecture, os: platform.os, rootfs: { type: 'layers', diff_ids: [] }, config: {} }, key: 'scratch' };
    } else {
      const img = await baseImage(stage.base.ref);
      state = { layers: [...img.layers], config: structuredClone(img.config), key: img.configDigest };
    }
    baseRuntime = (state.config.config ?? {}) as StageImageConfig;
    // The base image's ONBUILD triggers run first, as instructions of this stage.
    const triggers = (baseRuntime.OnBuild ?? []).flatMap((t) => {
      try {
        return parseDockerfile(`FROM scratch\n${t}`, { file }).instructions.slice(1).map((x) => ({ ...x, line: stage.from.line }));
      } catch (e) {
        throw new TscError('ERR_DOCKERFILE', `ONBUILD trigger of ${stage.from.image} "${t}": ${(e as Error).message}`, { file, line: stage.from.line });
      }
    });
    baseRuntime = { ...baseRuntime, OnBuild: undefined };
    const instructions = [...triggers, ...stage.instructions];
    const expanded = expandStage(instructions, { meta: graph.meta, baseEnv: baseRuntime.Env ?? [], ctx: argsCtx }).instructions;
    const n = expanded.length + 1;
    emit({ step: `${label(1, n)} FROM ${stage.from.image}`, status: 'done' });
    let config: StageImageConfig = baseRuntime;
    for (const [i, instr] of expanded.entries()) {
      const stepLabel = `${label(i + 2, n)} ${instr.original.replace(/\s+/g, ' ').slice(0, 200)}`;
      if (env.signal?.aborted === true) throw new TscError('ERR_CANCELLED', `build cancelled before ${stepLabel}`);
      const before = config;
      config = foldImageConfig(baseRuntime, expanded.slice(0, i + 1) as ExpandedInstruction[], { file }).config;
      steps++;
      if (instr.kind === 'RUN') {
        const run = instr as RunInstruction & { argEnv?: { key: string; value: string }[] };
        if (run.mounts.length > 0 || run.security !== undefined) {
          throw new TscError('ERR_UNSUPPORTED', `RUN ${run.mounts.length > 0 ? '--mount' : '--security'} is not supported by this builder`, {
            file,
            line: run.line,
            hint: run.mounts.length > 0 ? 'copy what the step needs with COPY (cache and secret mounts are BuildKit features)' : 'remove --security',
          });
        }
        const key = stepKey(state.key, JSON.stringify({ kind: 'RUN', args: run.command, heredocs: run.heredocs, argEnv: run.argEnv, network: run.network ?? req.network ?? 'default' }));
        const hit = req.noCache === true ? undefined : await cache.get(key);
        if (hit !== undefined) {
          cachedSteps++;
          emit({ step: stepLabel, status: 'cached' });
          addLayer(state, hit);
        } else {
          emit({ step: stepLabel, status: 'started' });
          try {
            await runInstruction(state, run, before, stepLabel, key);
          } catch (e) {
            throw failStep(e, stepLabel, instr.line);
          }
          emit({ step: stepLabel, status: 'done' });
        }
        state.key = key;
      } else if (instr.kind === 'COPY' || instr.kind === 'ADD') {
        try {
          state.key = await copyInstruction(state, instr, before, stepLabel, state.key);
        } catch (e) {
          throw failStep(e, stepLabel, instr.line);
        }
      } else {
        const { line: _line, original: _original, ...rest } = instr;
        // An ARG's value reaches the key only where it is used (RUN's env, expanded words).
        state.key = stepKey(state.key, instr.kind === 'ARG' ? `ARG ${instr.args.map((a) => a.name).join(' ')}` : JSON.stringify(rest));
        const created = state.config.created === undefined ? {} : { created: state.config.created };
        state.config.history = [...(state.config.history ?? []), { ...created, created_by: instr.original.replace(/\s+/g, ' '), comment: 'buildkit.dockerfile.v0', empty_layer: true }];
        emit({ step: stepLabel, status: 'done' });
      }
    }
    const folded = foldImageConfig(baseRuntime, expanded as ExpandedInstruction[], { file });
    state.config.config = folded.config;
    if (folded.author !== undefined) state.config.author = folded.author;
    return state;
  }

  try {
    // Stages run as soon as what they need is built: independent stages side by side. Every
    // stage is waited for, failed or not, so nothing of the build is still running after it.
    const running = new Map<number, Promise<StageState>>();
    const stageResult = (index: number): Promise<StageState> => {
      let p = running.get(index);
      if (p === undefined) {
        const stage = graph.stages[index] as Stage;
        p = (async () => {
          await Promise.all(stage.dependsOn.map(stageResult));
          const st = await buildStage(stage);
          results.set(index, st);
          return st;
        })();
        running.set(index, p);
      }
      return p;
    };
    await settleAll(plan.map((s) => stageResult(s.index)));
    const last = plan[plan.length - 1] as Stage;
    const final = results.get(last.index) as StageState;
    const runtimeConfig = { ...(final.config.config ?? {}) };
    if (req.labels !== undefined && Object.keys(req.labels).length > 0) runtimeConfig.Labels = { ...(runtimeConfig.Labels ?? {}), ...req.labels };
    const imageConfig: ImageConfig = {
      ...final.config,
      architecture: final.config.architecture || platform.architecture,
      os: final.config.os || platform.os,
      config: runtimeConfig,
      rootfs: { type: 'layers', diff_ids: final.layers.map((l) => l.diffId) },
    };
    const configDesc = await store.putBlob(Buffer.from(JSON.stringify(imageConfig)), MEDIA.ociConfig);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: configDesc.digest, size: configDesc.size },
      layers: final.layers.map((l): Descriptor => ({ mediaType: l.blob.mediaType, digest: l.blob.digest, size: l.blob.size })),
    };
    const manifestDesc = await store.putBlob(Buffer.from(JSON.stringify(manifest)), MEDIA.ociManifest);
    const tags = req.tags.map((t) => normalizeReference(t));
    for (const t of tags) await store.setImage(t, { ...manifestDesc, platform: { os: imageConfig.os, architecture: imageConfig.architecture } });
    return { id: configDesc.digest, manifestDigest: manifestDesc.digest, tags, steps, cached: cachedSteps };
  } finally {
    release();
  }
}
