/**
 * Image references, normalized the way Docker does (distribution/reference's
 * ParseNormalizedNamed): `nginx` is `docker.io/library/nginx:latest`, a first component with a
 * `.` or `:` (or `localhost`) is a registry host, `index.docker.io` is `docker.io`. Every
 * reference inside the agent is the normalized form; `familiarReference` gives back the short
 * one users typed.
 */
import { TscError } from '../../lib/errors.js';
import { parseDigest } from './digest.js';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;

export interface ImageReference {
  /** Registry host, with port when given: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/nginx`, `team/api`. */
  path: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

// The grammar of distribution/reference (regexp.go), anchored pieces.
const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainRe = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const tagRe = '[\\w][\\w.-]{0,127}';
const digestRe = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(
  `^((?:${domainRe}/)?${pathComponent}(?:/${pathComponent})*)(?::(${tagRe}))?(?:@(${digestRe}))?$`,
);
const DOMAIN_ONLY = new RegExp(`^${domainRe}$`);
const ANCHORED_ID = /^[a-f0-9]{64}$/;

function invalid(ref: string, why?: string): TscError {
  const detail = why === undefined ? '' : `: ${why}`;
  return new TscError('ERR_IMAGE', `invalid reference format${detail}: "${ref}"`, {
    hint: 'an image reference is [registry[:port]/]name[:tag][@sha256:digest], e.g. nginx:1.25 or localhost:5000/team/api',
  });
}

/** Split the registry host from the rest, as distribution's splitDockerDomain does. */
function splitDockerDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = i === -1 ? '' : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return [domain, remainder];
}

/**
 * Parse a reference as a user writes it and normalize it. Without tag or digest the tag is
 * `latest`; with a digest and no tag, there is no tag (the digest names the content).
 */
export function parseReference(ref: string): ImageReference {
  if (ref === '') throw invalid(ref, 'empty reference');
  if (ANCHORED_ID.test(ref)) {
    throw invalid(ref, 'cannot specify 64-byte hexadecimal strings as a repository name');
  }
  // Split off tag and digest before the host so `localhost:5000/x` keeps its port.
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const [domain, remainder] = splitDockerDomain(rest);
  if (remainder.toLowerCase() !== remainder) {
    throw invalid(ref, `repository name (${remainder}) must be lowercase`);
  }
  const full = `${domain}/${remainder}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
  const m = REFERENCE.exec(full);
  if (m === null || !DOMAIN_ONLY.test(domain)) throw invalid(ref);
  const name = m[1] ?? '';
  if (name.length > NAME_TOTAL_LENGTH_MAX) throw invalid(ref, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  if (digest !== undefined) {
    try {
      parseDigest(digest);
    } catch (cause) {
      throw new TscError('ERR_IMAGE', `invalid reference format: "${ref}": ${(cause as Error).message}`, { cause });
    }
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path: remainder, tag, digest };
}

/** `docker.io/library/nginx` */
export function repositoryName(r: ImageReference): string {
  return `${r.domain}/${r.path}`;
}

/** The full normalized string: `docker.io/library/nginx:latest`, `host:5000/a/b@sha256:...`. */
export function formatReference(r: ImageReference): string {
  return `${repositoryName(r)}${r.tag === undefined ? '' : `:${r.tag}`}${r.digest === undefined ? '' : `@${r.digest}`}`;
}

/** The short form Docker prints: `nginx:latest`, `team/api:1`, `localhost:5000/x:1`. */
export function familiarReference(r: ImageReference): string {
  let name = repositoryName(r);
  if (r.domain === DEFAULT_DOMAIN) {
    name = r.path.startsWith(OFFICIAL_REPO_PREFIX) && !r.path.slice(OFFICIAL_REPO_PREFIX.length).includes('/')
      ? r.path.slice(OFFICIAL_REPO_PREFIX.length)
      : r.path;
  }
  return `${name}${r.tag === undefined ? '' : `:${r.tag}`}${r.digest === undefined ? '' : `@${r.digest}`}`;
}

/** Normalize a reference string: `nginx` -> `docker.io/library/nginx:latest`. */
export function normalizeReference(ref: string): string {
  return formatReference(parseReference(ref));
}

/** The same repository with another tag or digest (for index lookups and pulls by digest). */
export function withDigest(r: ImageReference, digest: string): ImageReference {
  return { domain: r.domain, path: r.path, digest };
}
