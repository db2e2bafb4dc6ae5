/**
 * The build context on disk: one walk of the directory honouring `.dockerignore` (or
 * `<Dockerfile>.dockerignore` beside the Dockerfile, which BuildKit prefers), giving the files
 * COPY/ADD may read, and content digests of what a step reads so that the layer cache can tell
 * an unchanged input from a changed one without looking at mtimes (as Docker does).
 */
import type { Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

import { TscError } from '../../lib/errors.js';
import type { DockerIgnore } from './dockerignore.js';
import { cleanPath, parseDockerignore } from './dockerignore.js';
import { compileGlob, hasGlob } from './glob.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface ContextEntry {
  /** `/`-separated, relative to the context root; `.` is the root. */
  rel: string;
  type: EntryType;
  mode: number;
  size: number;
  mtime: number;
  link?: string;
}

export interface BuildContext {
  dir: string;
  ignore: DockerIgnore;
  /** Entries that are part of the context (not excluded), sorted by path. */
  entries: Map<string, ContextEntry>;
  /** The entries below `rel` (a directory), excluding it, sorted. */
  under(rel: string): ContextEntry[];
  /** Content digest of an entry (a tree's for a directory): path, type, mode, bytes, link target. */
  digest(rel: string): Promise<string>;
}

async function readIgnoreFile(contextDir: string, dockerfile?: string): Promise<{ text: string; file: string }> {
  const candidates = dockerfile === undefined ? [] : [`${dockerfile}.dockerignore`];
  candidates.push(join(contextDir, '.dockerignore'));
  for (const file of candidates) {
    try {
      return { text: await readFile(file, 'utf8'), file };
    } catch {
      // absent: next
    }
  }
  return { text: '', file: '.dockerignore' };
}

function typeOf(st: Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** Walk `dir` once; `dockerfile` is the Dockerfile's host path (for its own .dockerignore). */
export async function openBuildContext(dir: string, opts: { dockerfile?: string } = {}): Promise<BuildContext> {
  const root = await lstat(dir).catch((cause: unknown) => {
    throw new TscError('ERR_NOT_FOUND', `build context ${dir} does not exist`, { cause });
  });
  if (!root.isDirectory()) throw new TscError('ERR_USAGE', `build context ${dir} is not a directory`);
  const ig = await readIgnoreFile(dir, opts.dockerfile);
  const ignore = parseDockerignore(ig.text, ig.file);
  const entries = new Map<string, ContextEntry>();
  entries.set('.', { rel: '.', type: 'dir', mode: root.mode & 0o7777, size: 0, mtime: root.mtimeMs / 1000 });

  async function walk(rel: string): Promise<void> {
    const abs = rel === '.' ? dir : join(dir, rel);
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const childRel = rel === '.' ? name : `${rel}/${name}`;
      const st = await lstat(join(abs, name));
      const type = typeOf(st);
      const excluded = ignore.matches(childRel);
      if (!excluded) {
        const e: ContextEntry = { rel: childRel, type, mode: st.mode & 0o7777, size: type === 'file' ? st.size : 0, mtime: st.mtimeMs / 1000 };
        if (type === 'symlink') e.link = await readlink(join(abs, name));
        entries.set(childRel, e);
      }
      if (type === 'dir' && (!excluded || ignore.shouldDescend(childRel))) await walk(childRel);
    }
  }
  await walk('.');
  const sorted = [...entries.keys()].sort();
  const memo = new Map<string, Promise<string>>();

  async function fileDigest(rel: string): Promise<string> {
    const h = createHash('sha256');
    for await (const chunk of createReadStream(join(dir, rel))) h.update(chunk as Buffer);
    return h.digest('hex');
  }

  function under(rel: string): ContextEntry[] {
    const prefix = rel === '.' ? '' : `${rel}/`;
    return sorted.filter((k) => k !== '.' && k.startsWith(prefix) && k !== rel).map((k) => entries.get(k) as ContextEntry);
  }

  async function entryLine(e: ContextEntry, base: string): Promise<string> {
    const name = base === '.' ? e.rel : e.rel === base ? '.' : e.rel.slice(base.length + 1);
    let content = '';
    if (e.type === 'file') {
      let p = memo.get(e.rel);
      if (p === undefined) {
        p = fileDigest(e.rel);
        memo.set(e.rel, p);
      }
      content = await p;
    } else if (e.type === 'symlink') content = e.link ?? '';
    return `${name}\0${e.type}\0${e.mode.toString(8)}\0${e.size}\0${content}\n`;
  }

  return {
    dir,
    ignore,
    entries,
    under,
    async digest(rel) {
      const e = entries.get(rel);
      if (e === undefined) throw new Error(`build context: no entry ${rel}`);
      const h = createHash('sha256');
      h.update(await entryLine(e, rel));
      if (e.type === 'dir') for (const c of under(rel)) h.update(await entryLine(c, rel));
      return `sha256:${h.digest('hex')}`;
    },
  };
}

/** A URL source of ADD (http, https, git). */
export function isUrlSource(src: string): boolean {
  return /^(https?|git):\/\//i.test(src) || /^git@/.test(src);
}

/**
 * The context entries a COPY/ADD source names: one path, or every path a glob matches.
 * Throws Docker's error naming the source when nothing matches or the path leaves the context.
 */
export function matchContextSources(ctx: BuildContext, src: string, where: { file: string; line: number; kind: string }): ContextEntry[] {
  const cleaned = cleanPath(src.replace(/^\/+/, ''));
  if (cleaned === '..' || cleaned.startsWith('../')) {
    throw new TscError('ERR_DOCKERFILE', `${where.kind} failed: forbidden path outside the build context: ${src}`, { file: where.file, line: where.line });
  }
  if (hasGlob(cleaned)) {
    const test = compileGlob(cleaned);
    const hits = [...ctx.entries.values()].filter((e) => e.rel !== '.' && test(e.rel));
    if (hits.length === 0) {
      throw new TscError('ERR_DOCKERFILE', `${where.kind} failed: no source files were specified: ${src} matches no file in the build context`, {
        file: where.file,
        line: where.line,
        hint: 'check the path, and that .dockerignore does not exclude it',
      });
    }
    return hits;
  }
  const e = ctx.entries.get(cleaned);
  if (e === undefined) {
    throw new TscError('ERR_DOCKERFILE', `${where.kind} failed: file not found in build context or excluded by .dockerignore: stat ${cleaned}: file does not exist`, {
      file: where.file,
      line: where.line,
    });
  }
  return [e];
}
