/**
 * `login`'s check: credentials are tried against the registry before anything is saved, the
 * way the registry asks for them on `/v2/` (a Basic challenge: `/v2/` again with them; a
 * Bearer challenge: the token realm with them, as `docker login` does).
 */
import type { OutgoingHttpHeaders } from 'node:http';

import { TscError } from '../../../lib/errors.js';
import { basicAuth, parseChallenges } from './auth.js';
import type { Credentials } from './credentials.js';
import { DOCKER_HUB_KEY, serverKey } from './credentials.js';
import type { HttpResponse } from './http.js';
import { httpRequest, readBody } from './http.js';
import { registryEndpoints } from './registry-client.js';

export interface LoginOptions {
  /** Hosts that may be reached over http or unverified TLS (loopback always may). */
  insecureRegistries?: string[];
  timeoutMs?: number;
}

export interface LoginResult {
  /** The key the credentials belong under (`https://index.docker.io/v1/`, `host:port`). */
  key: string;
  /** The base URL that answered (`http://127.0.0.1:5000`). */
  endpoint: string;
  /** How the registry checked them: `basic`, `bearer`, or `none` (it asks for nothing). */
  scheme: 'basic' | 'bearer' | 'none';
}

function refused(host: string, status: number): TscError {
  return new TscError('ERR_AUTH', `login to ${host} failed: unauthorized: incorrect username or password (${host} answered ${status})`, {
    hint: 'check the user name and password; nothing was saved',
  });
}

async function get(url: string, headers: OutgoingHttpHeaders, insecure: boolean, timeoutMs: number): Promise<HttpResponse> {
  return httpRequest({ url, headers, insecure, timeoutMs });
}

/** Check `creds` against `server` (default Docker Hub). Throws ERR_AUTH when refused. */
export async function verifyLogin(server: string | undefined, creds: Credentials, opts: LoginOptions = {}): Promise<LoginResult> {
  const key = serverKey(server);
  const domain = key === DOCKER_HUB_KEY ? 'docker.io' : key;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ep = registryEndpoints(domain, opts).at(-1);
  if (ep === undefined) throw new Error(`no endpoint for ${domain}`);
  const bases = ep.insecure ? [`https://${ep.host}`, `http://${ep.host}`] : [`https://${ep.host}`];
  let ping: HttpResponse | undefined;
  let base = '';
  let lastError: unknown;
  for (const b of bases) {
    try {
      ping = await get(`${b}/v2/`, {}, ep.insecure, timeoutMs);
      base = b;
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (ping === undefined) {
    throw new TscError('ERR_AUTH', `login to ${ep.host} failed: cannot reach ${bases.join(' or ')}/v2/: ${(lastError as Error).message}`, { cause: lastError });
  }
  ping.stream.resume();
  if (ping.status === 200) return { key, endpoint: base, scheme: 'none' };
  if (ping.status !== 401) throw new TscError('ERR_AUTH', `login to ${ep.host} failed: ${base}/v2/ answered ${ping.status}, not a registry?`);
  const challenge = parseChallenges(ping.headers['www-authenticate'])[0];
  if (challenge === undefined) throw new TscError('ERR_AUTH', `login to ${ep.host} failed: ${base}/v2/ answered 401 without a WWW-Authenticate challenge`);
  if (challenge.scheme === 'basic') {
    const res = await get(`${base}/v2/`, { authorization: basicAuth(creds) }, ep.insecure, timeoutMs);
    res.stream.resume();
    if (res.status === 200) return { key, endpoint: base, scheme: 'basic' };
    if (res.status === 401 || res.status === 403) throw refused(ep.host, res.status);
    throw new TscError('ERR_AUTH', `login to ${ep.host} failed: ${base}/v2/ answered ${res.status}`);
  }
  if (challenge.scheme !== 'bearer') throw new TscError('ERR_AUTH', `login to ${ep.host} failed: unsupported authentication "${challenge.scheme}"`);
  const realm = challenge.params['realm'];
  if (realm === undefined) throw new TscError('ERR_AUTH', `login to ${ep.host} failed: its bearer challenge names no realm`);
  let u: URL;
  try {
    u = new URL(realm);
  } catch (cause) {
    throw new TscError('ERR_AUTH', `login to ${ep.host} failed: invalid token realm "${realm}"`, { cause });
  }
  if (challenge.params['service'] !== undefined) u.searchParams.set('service', challenge.params['service']);
  u.searchParams.set('account', creds.username);
  u.searchParams.set('client_id', 'tsc-compose');
  const res = await get(u.toString(), { authorization: basicAuth(creds) }, ep.insecure, timeoutMs);
  const body = await readBody(res, 1 << 20);
  if (res.status === 401 || res.status === 403) throw refused(ep.host, res.status);
  if (res.status !== 200) throw new TscError('ERR_AUTH', `login to ${ep.host} failed: the token server ${u.host} answered ${res.status}`);
  let parsed: { token?: string; access_token?: string };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch (cause) {
    throw new TscError('ERR_AUTH', `login to ${ep.host} failed: the token server ${u.host} sent invalid JSON`, { cause });
  }
  if ((parsed.token ?? parsed.access_token ?? '') === '') throw new TscError('ERR_AUTH', `login to ${ep.host} failed: the token server ${u.host} sent no token`);
  return { key, endpoint: base, scheme: 'bearer' };
}
