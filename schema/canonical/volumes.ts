/**
 * `services.*.volumes`: short syntax to long, as compose-go's format.ParseVolume does it:
 * `[source:]target[:options]`. A source starting with `.`, `/` or `~` is a bind (and, as with
 * docker-compose v1, a missing host path is created: `bind.create_host_path: true`); any other
 * source names a volume (`volume: {}`); no source is an anonymous volume. Options: `ro`/`rw`,
 * `nocopy`, SELinux `z`/`Z`, propagation (`rshared`, ...); unknown options are ignored, as
 * compose-go does. Long entries with a `bind` block get `create_host_path: true` by default.
 */

import { parseBytes } from '../../lib/units.js';
import type { At } from '../walk.js';
import { isMapping } from '../walk.js';
import { orderKeys } from './order.js';
import { uniqueBy } from './ports.js';

const PROPAGATIONS = new Set(['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave']);
const VOLUME_KEYS = ['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs', 'image'];
const BIND_KEYS = ['selinux', 'propagation', 'create_host_path', 'recursive'];

function isFilePath(source: string): boolean {
  if (source === '') return false;
  if (source[0] === '.' || source[0] === '/' || source[0] === '~') return true;
  if (source.startsWith('\\\\')) return true;
  return /^[A-Za-z]:/.test(source) && source.length > 2;
}

/** One short-syntax volume as compose-go parses it. Throws an Error with compose-go's wording. */
export function parseVolumeSpec(spec: string): Record<string, unknown> {
  if (spec.length === 0) throw new Error('invalid empty volume spec');
  if (spec.length <= 2) return { type: 'volume', target: spec };
  const vol: { source?: string; target?: string; read_only?: boolean; bind?: Record<string, unknown>; volume?: Record<string, unknown> } = {};
  let buffer = '';
  let depth = 0;
  const fail = (why: string): never => {
    throw new Error(`invalid spec: ${spec}: ${why}`);
  };
  const flush = (atEnd: boolean): void => {
    if (buffer.length === 0) fail('empty section between colons');
    if (vol.source === undefined && atEnd) {
      vol.target = buffer;
      return;
    }
    if (vol.source === undefined) {
      vol.source = buffer;
      return;
    }
    if (vol.target === undefined) {
      vol.target = buffer;
      return;
    }
    if (!atEnd) fail('too many colons');
    for (const option of buffer.split(',')) {
      if (option === 'ro') vol.read_only = true;
      else if (option === 'rw') vol.read_only = false;
      else if (option === 'nocopy') vol.volume = { nocopy: true };
      else if (PROPAGATIONS.has(option)) vol.bind = { ...vol.bind, propagation: option };
      else if (option === 'z' || option === 'Z') vol.bind = { ...vol.bind, selinux: option };
    }
  };
  for (let i = 0; i <= spec.length; i++) {
    const ch = i === spec.length ? '' : (spec[i] as string);
    if (ch === '$' && spec[i + 1] === '{') {
      depth++;
      buffer += ch;
      continue;
    }
    if (ch === '}' && depth > 0) {
      depth--;
      buffer += ch;
      continue;
    }
    if (ch === ':' && buffer.length === 1 && /\p{L}/u.test(buffer)) {
      buffer += ch; // a Windows drive letter
    } else if ((ch === ':' || ch === '') && depth === 0) {
      flush(ch === '');
      buffer = '';
    } else {
      buffer += ch;
    }
  }
  const out: Record<string, unknown> = {};
  if (isFilePath(vol.source ?? '')) {
    out.type = 'bind';
    vol.bind = { ...vol.bind, create_host_path: true };
  } else {
    out.type = 'volume';
    vol.volume = vol.volume ?? {};
  }
  if (vol.source !== undefined) out.source = vol.source;
  // compose-go's ParseVolume keeps the target as written (`/media/` stays `/media/`).
  if (vol.target !== undefined) out.target = vol.target;
  if (vol.read_only === true) out.read_only = true;
  if (vol.bind !== undefined) out.bind = orderKeys(vol.bind, BIND_KEYS);
  if (vol.volume !== undefined) out.volume = vol.volume;
  return out;
}

/** `services.*.volumes[]`: short entries parsed, long entries given compose's defaults. */
export function transformVolume(value: unknown, at: At): unknown {
  if (typeof value === 'string') {
    try {
      return parseVolumeSpec(value);
    } catch (e) {
      throw at.positions.error('ERR_COMPOSE_INVALID', (e as Error).message, at.path);
    }
  }
  if (!isMapping(value)) return value;
  const v: Record<string, unknown> = { ...value };
  if (isMapping(v.bind)) {
    v.bind = orderKeys({ ...v.bind, create_host_path: v.bind.create_host_path ?? true }, BIND_KEYS);
  }
  if (isMapping(v.tmpfs) && v.tmpfs.size !== undefined) {
    try {
      v.tmpfs = { ...v.tmpfs, size: String(parseBytes(v.tmpfs.size as string | number)) };
    } catch (e) {
      throw at.positions.error('ERR_COMPOSE_INVALID', (e as Error).message, `${at.path}.tmpfs.size`);
    }
  }
  return orderKeys(v, VOLUME_KEYS);
}

/** The key merge uses to tell long-form mounts apart (compose-go's volumeIndexer): the target. */
export function volumeKey(entry: Record<string, unknown>): string {
  return String(entry.target);
}

/** `services.*.volumes`: every entry long, then one mount per target (the later merged in). */
export function transformVolumes(value: unknown, at: At): unknown {
  if (!Array.isArray(value)) return value;
  return uniqueBy(
    value.map((v, i) => transformVolume(v, { ...at, path: `${at.path}[${i}]` })),
    volumeKey,
  );
}
