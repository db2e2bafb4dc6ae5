/**
 * Registry credentials where Docker keeps them: `~/.docker/config.json` (`auths` with a base64
 * `auth`), or a credential helper the file names (`credHelpers` per registry, else
 * `credsStore`), run as `docker-credential-NAME get|store|erase|list` with the helper
 * protocol on stdin/stdout. `login`, `logout` and pulls all go through here, so a user's
 * `docker login` and ours see the same credentials.
 */
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

import { TscError } from '../../../lib/errors.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface CredentialOptions {
  /** The config.json to use (default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`). */
  configFile?: string;
  /** Environment for helpers (PATH finds them); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Docker Hub's key in config.json and in helpers, as the docker CLI writes it. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

const HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** Docker's config directory: $DOCKER_CONFIG, else ~/.docker. */
export function defaultAuthFile(): string {
  return join(process.env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json');
}

/** `https://host:5000/v1/` -> `host:5000` (docker's ConvertToHostname). */
export function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

/**
 * The key a server is stored under: Docker Hub (no server, `docker.io`, `index.docker.io`,
 * its v1 URL) under `https://index.docker.io/v1/`, any other under its `host[:port]`.
 */
export function serverKey(server: string | undefined): string {
  if (server === undefined || server === '') return DOCKER_HUB_KEY;
  const host = hostOfKey(server.trim()).toLowerCase();
  if (host === '') throw new TscError('ERR_USAGE', `invalid registry server "${server}"`);
  return HUB_NAMES.has(host) ? DOCKER_HUB_KEY : host;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

function readConfig(file: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  if (text.trim() === '') return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as ConfigFile;
  } catch (cause) {
    throw new TscError('ERR_AUTH', `${file} is not a valid Docker config file (a JSON object is expected)`, { file, cause });
  }
}

/**
 * Replace the file in one step (temp file in the same directory, fsync, rename), mode 0600
 * as docker writes it; through a symlinked config.json to its target, as docker does.
 */
async function writeConfig(file: string, cfg: ConfigFile): Promise<void> {
  let target = file;
  try {
    target = realpathSync(file);
  } catch {
    // not there yet
  }
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(cfg, null, '\t')}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The auths entry for `key`, also matched by host (`https://h:5000` matches `h:5000`). */
function findEntry(auths: Record<string, AuthEntry>, key: string): [string, AuthEntry] | undefined {
  if (auths[key] !== undefined) return [key, auths[key]];
  const host = key === DOCKER_HUB_KEY ? undefined : key;
  for (const [k, v] of Object.entries(auths)) {
    const h = hostOfKey(k).toLowerCase();
    if (host === undefined ? HUB_NAMES.has(h) : h === host) return [k, v];
  }
  return undefined;
}

function decodeEntry(file: string, key: string, entry: AuthEntry): Credentials | undefined {
  if (entry.auth !== undefined && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i === -1) throw new TscError('ERR_AUTH', `invalid auth for ${key} in ${file}: not base64 of user:password`, { file, path: `auths.${key}.auth` });
    return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

/** The helper that holds `key`'s credentials: `credHelpers` by host, else `credsStore`. */
function helperFor(cfg: ConfigFile, key: string): string | undefined {
  const helpers = cfg.credHelpers ?? {};
  const host = hostOfKey(key);
  const named = helpers[key] ?? helpers[host] ?? (key === DOCKER_HUB_KEY ? (helpers['docker.io'] ?? helpers['index.docker.io']) : undefined);
  if (named !== undefined && named !== '') return named;
  return cfg.credsStore !== undefined && cfg.credsStore !== '' ? cfg.credsStore : undefined;
}

const NOT_FOUND = /credentials not found/i;

class HelperNotFound extends Error {}

/** Run `docker-credential-NAME ACTION` with `input` on stdin; its stdout. */
export function runCredentialHelper(name: string, action: 'get' | 'store' | 'erase' | 'list', input: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = execFile(program, [action], { env, maxBuffer: 1 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err === null) {
        resolve(stdout);
        return;
      }
      const out = `${stdout}${stderr}`.trim();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new TscError('ERR_AUTH', `credential helper ${program} is not on PATH`, { hint: 'install it, or remove credsStore/credHelpers from your Docker config.json', cause: err }));
      } else if (action !== 'store' && NOT_FOUND.test(out)) {
        reject(new HelperNotFound(out));
      } else {
        reject(new TscError('ERR_AUTH', `credential helper ${program} ${action} failed: ${out === '' ? err.message : out}`, { cause: err }));
      }
    });
    child.stdin?.on('error', () => {
      // the helper may exit before reading; its exit status tells what happened
    });
    child.stdin?.end(input);
  });
}

/**
 * Credentials for a registry (`docker.io`, `host:5000`, or a server URL), from its helper
 * when config.json names one, else from `auths`. Undefined when there are none.
 */
export async function getCredentials(server: string, opts: CredentialOptions = {}): Promise<Credentials | undefined> {
  const file = opts.configFile ?? defaultAuthFile();
  const cfg = readConfig(file);
  const key = serverKey(server);
  const helper = helperFor(cfg, key);
  if (helper !== undefined) {
    let out: string;
    try {
      out = await runCredentialHelper(helper, 'get', key, opts.env);
    } catch (e) {
      if (e instanceof HelperNotFound) return undefined;
      throw e;
    }
    let parsed: { Username?: string; Secret?: string };
    try {
      parsed = JSON.parse(out) as typeof parsed;
    } catch (cause) {
      throw new TscError('ERR_AUTH', `credential helper docker-credential-${helper} sent invalid JSON for ${key}`, { cause });
    }
    if (parsed.Secret === undefined || parsed.Secret === '') return undefined;
    return { username: parsed.Username ?? '', password: parsed.Secret };
  }
  const found = findEntry(cfg.auths ?? {}, key);
  return found === undefined ? undefined : decodeEntry(file, found[0], found[1]);
}

/**
 * Sync read of `auths` only (no helper is run): for callers that cannot wait. Prefer
 * `getCredentials`.
 */
export function loadCredentials(server: string, configFile: string = defaultAuthFile()): Credentials | undefined {
  const found = findEntry(readConfig(configFile).auths ?? {}, serverKey(server));
  return found === undefined ? undefined : decodeEntry(configFile, found[0], found[1]);
}

/** Where `storeCredentials` put them: the key, and the helper if one holds the secret. */
export interface StoredCredentials {
  key: string;
  file: string;
  helper?: string;
}

/**
 * `login`: save credentials for a server. With a helper the secret goes to the helper and
 * `auths` keeps an empty entry for the key (as docker does); else `auths.KEY.auth` holds
 * base64(user:password). Every other key of the file is kept as it was.
 */
export async function storeCredentials(server: string | undefined, creds: Credentials, opts: CredentialOptions = {}): Promise<StoredCredentials> {
  const file = opts.configFile ?? defaultAuthFile();
  const cfg = readConfig(file);
  const key = serverKey(server);
  const helper = helperFor(cfg, key);
  const auths = { ...(cfg.auths ?? {}) };
  const old = findEntry(auths, key);
  if (old !== undefined && old[0] !== key) delete auths[old[0]];
  if (helper !== undefined) {
    await runCredentialHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password }), opts.env);
    auths[key] = {};
  } else {
    auths[key] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  }
  await writeConfig(file, { ...cfg, auths });
  return helper === undefined ? { key, file } : { key, file, helper };
}

/**
 * `logout`: forget a server's credentials in its helper and in `auths`. Returns whether
 * there were any.
 */
export async function eraseCredentials(server: string | undefined, opts: CredentialOptions = {}): Promise<boolean> {
  const file = opts.configFile ?? defaultAuthFile();
  const cfg = readConfig(file);
  const key = serverKey(server);
  const helper = helperFor(cfg, key);
  let had = false;
  if (helper !== undefined) {
    try {
      await runCredentialHelper(helper, 'erase', key, opts.env);
      had = true;
    } catch (e) {
      if (!(e instanceof HelperNotFound)) throw e;
    }
  }
  const auths = { ...(cfg.auths ?? {}) };
  for (let found = findEntry(auths, key); found !== undefined; found = findEntry(auths, key)) {
    delete auths[found[0]];
    had = true;
  }
  if (cfg.auths !== undefined && Object.keys(auths).length !== Object.keys(cfg.auths).length) await writeConfig(file, { ...cfg, auths });
  return had;
}

/** Servers with credentials: `auths` keys and what the store helper lists, with usernames. */
export async function listCredentials(opts: CredentialOptions = {}): Promise<Record<string, string>> {
  const file = opts.configFile ?? defaultAuthFile();
  const cfg = readConfig(file);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(cfg.auths ?? {})) out[k] = decodeEntry(file, k, v)?.username ?? '';
  if (cfg.credsStore !== undefined && cfg.credsStore !== '') {
    const listed = JSON.parse(await runCredentialHelper(cfg.credsStore, 'list', '', opts.env)) as Record<string, string>;
    Object.assign(out, listed);
  }
  return out;
}
