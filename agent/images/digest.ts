/**
 * Content digests (`sha256:<hex>`), the names blobs are stored and fetched under. Only
 * algorithms we can verify are accepted, so a digest that parses is one we can check.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

import { TscError } from '../../lib/errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Parse and validate `algo:hex`; throws a TscError naming the digest otherwise. */
export function parseDigest(digest: string): ParsedDigest {
  const i = digest.indexOf(':');
  if (i <= 0) throw new TscError('ERR_IMAGE', `invalid digest "${digest}": expected algorithm:hex`);
  const algorithm = digest.slice(0, i);
  const hex = digest.slice(i + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new TscError('ERR_IMAGE', `unsupported digest algorithm "${algorithm}" in "${digest}"`);
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new TscError('ERR_IMAGE', `invalid checksum digest format "${digest}"`);
  }
  return { algorithm, hex };
}

export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

export function digestHasher(digest: string): Hash {
  return createHash(parseDigest(digest).algorithm);
}

/** The sha256 digest of bytes. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
