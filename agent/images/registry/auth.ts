/**
 * Registry authentication pieces: the `WWW-Authenticate` challenge (RFC 7235, as the
 * distribution token spec uses it) and credentials from Docker's config.json `auths`.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

import { TscError } from '../../../lib/errors.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse `Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"`. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const out: Challenge[] = [];
  for (const h of Array.isArray(header) ? header : [header]) {
    const re = /\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*)))?\s*,?/gy;
    let current: Challenge | undefined;
    let m: RegExpExecArray | null;
    re.lastIndex = 0;
    while (re.lastIndex < h.length && (m = re.exec(h)) !== null) {
      if (m[0] === '') break;
      const [, token, quoted, bare] = m;
      if (token === undefined) break;
      if (quoted === undefined && bare === undefined) {
        // A scheme, possibly followed directly by its first parameter without a comma.
        current = { scheme: token.toLowerCase(), params: {} };
        out.push(current);
        continue;
      }
      if (current === undefined) break;
      current.params[token.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? '');
    }
  }
  return out;
}

export interface Credentials {
  username: string;
  password: string;
}

/** Docker's config directory: $DOCKER_CONFIG, else ~/.docker. */
export function defaultAuthFile(): string {
  return join(process.env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json');
}

/** The key Docker uses for a registry host: docker.io is stored under its v1 index URL. */
export function authKeyCandidates(host: string): string[] {
  if (host === 'docker.io' || host === 'registry-1.docker.io' || host === 'index.docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [host];
}

/** Strip scheme and path from a config.json `auths` key (`https://host:5000/v1/` -> `host:5000`). */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

/**
 * Credentials for `host` from a Docker config.json (`auths.<host>.auth` = base64 user:pass,
 * or `username`/`password`). A missing file means no credentials; a broken one is an error
 * naming the file. `credsStore` helpers are not run (yet).
 */
export function loadCredentials(host: string, authFile: string = defaultAuthFile()): Credentials | undefined {
  let text: string;
  try {
    text = readFileSync(authFile, 'utf8');
  } catch {
    return undefined;
  }
  let cfg: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    cfg = JSON.parse(text) as typeof cfg;
  } catch (cause) {
    throw new TscError('ERR_IMAGE', `${authFile} is not valid JSON`, { file: authFile, cause });
  }
  const auths = cfg.auths ?? {};
  const wanted = authKeyCandidates(host);
  for (const [key, entry] of Object.entries(auths)) {
    if (!wanted.includes(key) && !wanted.includes(keyHost(key))) continue;
    if (entry.auth !== undefined && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i === -1) throw new TscError('ERR_IMAGE', `invalid auth for ${key} in ${authFile}`, { file: authFile, path: `auths.${key}.auth` });
      return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
    if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  }
  return undefined;
}

export function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

function readConfigObject(authFile: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(authFile, 'utf8');
  } catch {
    return {};
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new TscError('ERR_IMAGE', `${authFile} is not valid JSON`, { file: authFile, cause });
  }
}

async function writeConfigObject(authFile: string, cfg: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(authFile), { recursive: true, mode: 0o700 });
  const tmp = `${authFile}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  await rename(tmp, authFile);
}

/** The key `login` stores a host under, as Docker does (Docker Hub under its v1 URL). */
function storeKey(host: string): string {
  return authKeyCandidates(host)[0] as string;
}

/**
 * `login`: store credentials for `host` in config.json `auths` (mode 0600), keeping every
 * other key of the file as it was.
 */
export async function saveCredentials(host: string, creds: Credentials, authFile: string = defaultAuthFile()): Promise<void> {
  const cfg = readConfigObject(authFile);
  const auths = (cfg['auths'] ?? {}) as Record<string, unknown>;
  auths[storeKey(host)] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  await writeConfigObject(authFile, { ...cfg, auths });
}

/** `logout`: forget the credentials of `host`. Returns whether there were any. */
export async function removeCredentials(host: string, authFile: string = defaultAuthFile()): Promise<boolean> {
  const cfg = readConfigObject(authFile);
  const auths = { ...((cfg['auths'] ?? {}) as Record<string, unknown>) };
  const keys = Object.keys(auths).filter((k) => authKeyCandidates(host).includes(k) || authKeyCandidates(host).includes(k.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '')));
  if (keys.length === 0) return false;
  for (const k of keys) delete auths[k];
  await writeConfigObject(authFile, { ...cfg, auths });
  return true;
}
