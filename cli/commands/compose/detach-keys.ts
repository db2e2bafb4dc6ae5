/**
 * Docker's detach keys: a key sequence typed into an attached terminal that lets go of the
 * container without stopping it (default Ctrl-P Ctrl-Q). Bytes that may start the sequence are
 * held back; if the next byte does not continue it, they are passed on after all, so a lone
 * Ctrl-P still reaches the container.
 */
import { TscError } from '../../../lib/errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/**
 * `--detach-keys` as Docker reads it: comma-separated keys, each a single character or
 * `ctrl-<c>` for c in a-z, @, [, \, ], ^, _.
 */
export function parseDetachKeys(spec: string): Buffer {
  const bytes: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    if (k.length === 1) {
      bytes.push(k.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-([a-z@[\\\]^_])$/i.exec(k);
    if (m === null) throw new TscError('ERR_USAGE', `invalid detach keys "${spec}": "${k}" is neither one character nor ctrl-<a-z, @, [, \\, ], ^, _>`);
    const c = (m[1] ?? '').toLowerCase();
    bytes.push(c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 96 : c === '@' ? 0 : 26 + '@[\\]^_'.indexOf(c));
  }
  return Buffer.from(bytes);
}

export interface DetachScan {
  /** What goes to the container now. */
  forward: Buffer;
  /** The whole sequence was typed: stop relaying (what follows it in the chunk is dropped). */
  detached: boolean;
}

/** A scanner over the keys typed, chunk by chunk; `keys` empty: never detaches. */
export function detachScanner(keys: Buffer): (chunk: Buffer) => DetachScan {
  let matched = 0;
  return (chunk) => {
    if (keys.length === 0) return { forward: chunk, detached: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === keys[matched]) {
        matched++;
        if (matched === keys.length) return { forward: Buffer.from(out), detached: true };
        continue;
      }
      // not the sequence after all: what was held goes on, then this byte (which may start it again)
      for (let i = 0; i < matched; i++) out.push(keys[i] ?? 0);
      matched = 0;
      if (b === keys[0]) matched = 1;
      else out.push(b);
    }
    return { forward: Buffer.from(out), detached: false };
  };
}
