/**
 * A client of the distribution spec v2 (the Docker Registry HTTP API): `/v2/` ping, bearer
 * tokens from the `WWW-Authenticate` challenge (realm, service, scope) or basic auth, with
 * credentials from Docker's config.json or given; mirrors tried before the registry; http
 * only for insecure registries (and localhost, 127.0.0.0/8, ::1, as Docker); retries with
 * doubling backoff on network errors, 5xx and 429; blob downloads resumed with Range.
 */
import type { OutgoingHttpHeaders } from 'node:http';

import { TscError } from '../../../lib/errors.js';
import { sha256Digest } from '../digest.js';
import type { BlobWriter } from '../image-store.js';
import type { Descriptor } from '../media-types.js';
import { MANIFEST_ACCEPT } from '../media-types.js';
import type { ImageReference } from '../reference.js';
import { basicAuth, parseChallenges } from './auth.js';
import type { Credentials } from './credentials.js';
import { getCredentials } from './credentials.js';
import type { HttpResponse } from './http.js';
import { httpRequest, readBody } from './http.js';

export interface RegistryOptions {
  /** Docker config.json to read `auths`, `credsStore`, `credHelpers` from (default $DOCKER_CONFIG or ~/.docker). */
  authFile?: string;
  /** Credentials by registry host, taking precedence over the auth file (`login`). */
  credentials?: Record<string, Credentials>;
  /** Mirror base URLs by registry domain, e.g. `{ 'docker.io': ['http://127.0.0.1:5001'] }`. */
  mirrors?: Record<string, string[]>;
  /** Hosts (`host:port`) that may be reached over http or with unverified TLS. */
  insecureRegistries?: string[];
  /** Retries after the first attempt (default 3), with `backoffMs` doubling (default 250). */
  retries?: number;
  backoffMs?: number;
  timeoutMs?: number;
}

export interface Endpoint {
  /** The registry domain the reference names (credentials are looked up by it). */
  domain: string;
  /** Fixed base URL (mirrors), or undefined to discover https/http by ping. */
  base?: string | undefined;
  host: string;
  insecure: boolean;
  mirror: boolean;
}

interface EndpointState {
  base?: string;
  challenge?: { scheme: string; params: Record<string, string> } | undefined;
  tokens: Map<string, string>;
}

class Retryable extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':').length > 2 ? host : host.replace(/:\d+$/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The host to contact for a domain: Docker Hub's API lives at registry-1.docker.io. */
export function registryHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

/**
 * Where to send requests for a registry domain, in order: its mirrors, then the registry
 * itself. `insecure` allows http (after https fails) and unverified TLS.
 */
export function registryEndpoints(domain: string, opts: Pick<RegistryOptions, 'mirrors' | 'insecureRegistries'> = {}): Endpoint[] {
  const host = registryHost(domain);
  const mirrors = (opts.mirrors?.[domain] ?? []).map((m): Endpoint => {
    let u: URL;
    try {
      u = new URL(m);
    } catch (cause) {
      throw new TscError('ERR_USAGE', `invalid registry mirror "${m}" for ${domain}: expected a URL like http://host:port`, { cause });
    }
    return { domain, base: `${u.protocol}//${u.host}`, host: u.host, insecure: true, mirror: true };
  });
  const listed = opts.insecureRegistries ?? [];
  const insecure = isLoopbackHost(host) || listed.includes(host) || listed.includes(domain);
  return [...mirrors, { domain, host, insecure, mirror: false }];
}

export interface ManifestResponse {
  data: Buffer;
  mediaType: string;
  digest: string;
}

/** A pull session for one repository, bound to the first endpoint that answers. */
export interface RepositorySession {
  readonly endpoint: string;
  getManifest(reference: string): Promise<ManifestResponse>;
  fetchBlob(desc: Descriptor, writer: BlobWriter, onBytes?: (n: number) => void): Promise<void>;
  /** Push side (to the registry itself, never a mirror). */
  blobExists(digest: string): Promise<boolean>;
  pushBlob(desc: Descriptor, open: () => NodeJS.ReadableStream): Promise<void>;
  putManifest(reference: string, data: Buffer, mediaType: string): Promise<void>;
}

export interface RegistryClient {
  repository(ref: ImageReference): RepositorySession;
}

export function createRegistryClient(opts: RegistryOptions = {}): RegistryClient {
  const retries = opts.retries ?? 3;
  const backoffMs = opts.backoffMs ?? 250;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const states = new Map<string, EndpointState>();

  function stateOf(ep: Endpoint): EndpointState {
    const key = ep.base ?? ep.host;
    let s = states.get(key);
    if (s === undefined) {
      s = { tokens: new Map() };
      states.set(key, s);
    }
    return s;
  }

  /**
   * Given credentials, else config.json through its credential helper if it names one; read
   * once per domain and client (basic auth needs them on every request, a helper is a process).
   */
  const looked = new Map<string, Promise<Credentials | undefined>>();
  function credentialsFor(domain: string): Promise<Credentials | undefined> {
    const given = opts.credentials?.[domain];
    if (given !== undefined) return Promise.resolve(given);
    let p = looked.get(domain);
    if (p === undefined) {
      p = getCredentials(domain, opts.authFile === undefined ? {} : { configFile: opts.authFile });
      looked.set(domain, p);
      p.catch(() => looked.delete(domain));
    }
    return p;
  }

  function endpointsFor(domain: string): Endpoint[] {
    return registryEndpoints(domain, opts);
  }

  async function ping(ep: Endpoint, st: EndpointState): Promise<string> {
    if (st.base !== undefined) return st.base;
    const bases = ep.base !== undefined ? [ep.base] : ep.insecure ? [`https://${ep.host}`, `http://${ep.host}`] : [`https://${ep.host}`];
    let last: unknown;
    for (const base of bases) {
      try {
        const res = await httpRequest({ url: `${base}/v2/`, insecure: ep.insecure, timeoutMs });
        res.stream.resume();
        if (res.status === 401) st.challenge = parseChallenges(res.headers['www-authenticate'])[0];
        else if (res.status >= 500) throw new Retryable(`${base}/v2/ answered ${res.status}`);
        else if (res.status !== 200) throw new TscError('ERR_IMAGE', `${ep.host} is not a registry: ${base}/v2/ answered ${res.status}`);
        st.base = base;
        return base;
      } catch (e) {
        if (e instanceof TscError) throw e;
        last = e;
      }
    }
    throw last instanceof Retryable ? last : new Retryable((last as Error).message);
  }

  async function token(ep: Endpoint, st: EndpointState, scope: string): Promise<string | undefined> {
    const ch = st.challenge;
    if (ch === undefined) return undefined;
    const creds = await credentialsFor(ep.domain);
    if (ch.scheme === 'basic') {
      if (creds === undefined) return undefined;
      return basicAuth(creds);
    }
    if (ch.scheme !== 'bearer') throw new TscError('ERR_IMAGE', `${ep.host} asks for unsupported authentication "${ch.scheme}"`);
    const cached = st.tokens.get(scope);
    if (cached !== undefined) return cached;
    const realm = ch.params['realm'];
    if (realm === undefined) throw new TscError('ERR_IMAGE', `${ep.host} sent a bearer challenge without a realm`);
    const u = new URL(realm);
    if (ch.params['service'] !== undefined) u.searchParams.set('service', ch.params['service']);
    u.searchParams.append('scope', scope);
    const headers: OutgoingHttpHeaders = {};
    if (creds !== undefined) headers['authorization'] = basicAuth(creds);
    const res = await httpRequest({ url: u.toString(), headers, insecure: ep.insecure, timeoutMs });
    const body = await readBody(res, 1 << 20);
    if (res.status === 401 || res.status === 403) {
      throw new TscError('ERR_IMAGE', `authentication to ${ep.host} failed: the token server ${u.host} answered ${res.status}${creds === undefined ? ' (no credentials for this registry)' : ' (credentials refused)'}`, {
        hint: `log in first: tsc-compose login ${ep.domain}`,
      });
    }
    if (res.status >= 500) throw new Retryable(`token server ${u.host} answered ${res.status}`);
    if (res.status !== 200) throw new TscError('ERR_IMAGE', `token server ${u.host} answered ${res.status}`);
    let parsed: { token?: string; access_token?: string };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch (cause) {
      throw new TscError('ERR_IMAGE', `token server ${u.host} sent invalid JSON`, { cause });
    }
    const t = parsed.token ?? parsed.access_token;
    if (t === undefined || t === '') throw new TscError('ERR_IMAGE', `token server ${u.host} sent no token`);
    const header = `Bearer ${t}`;
    st.tokens.set(scope, header);
    return header;
  }

  /** One request with auth and retries; returns a response whose status is < 500. */
  async function call(
    ep: Endpoint,
    repo: string,
    path: string,
    headers: OutgoingHttpHeaders,
    what: string,
    extra: { method?: string; body?: Buffer; bodyStream?: () => NodeJS.ReadableStream; push?: boolean } = {},
  ): Promise<HttpResponse> {
    const st = stateOf(ep);
    const scope = `repository:${repo}:${extra.push === true ? 'pull,push' : 'pull'}`;
    let reauthed = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const base = await ping(ep, st);
        const auth = await token(ep, st, scope);
        const url = /^https?:\/\//.test(path) ? path : `${base}${path}`;
        const res = await httpRequest({
          url,
          method: extra.method,
          body: extra.body,
          bodyStream: extra.bodyStream,
          headers: auth === undefined ? headers : { ...headers, authorization: auth },
          insecure: ep.insecure,
          timeoutMs,
        });
        if (res.status === 401 && !reauthed) {
          res.stream.resume();
          reauthed = true;
          st.challenge = parseChallenges(res.headers['www-authenticate'])[0] ?? st.challenge;
          st.tokens.delete(scope);
          attempt--;
          continue;
        }
        if (res.status >= 500 || res.status === 429) {
          res.stream.resume();
          throw new Retryable(`${ep.host} answered ${res.status}`);
        }
        return res;
      } catch (e) {
        if (e instanceof TscError) throw e;
        if (attempt >= retries) {
          throw new TscError('ERR_IMAGE', `${what} from ${ep.host} failed after ${attempt + 1} attempts: ${(e as Error).message}`, { cause: e });
        }
        await sleep(backoffMs * 2 ** attempt);
      }
    }
  }

  function denied(ep: Endpoint, repo: string, status: number): TscError {
    return new TscError('ERR_IMAGE', `pull access denied for ${ep.domain}/${repo} (${ep.host} answered ${status}): the repository does not exist or may require 'docker login'`, {
      hint: `log in first: tsc-compose login ${ep.domain}`,
    });
  }

  function pushDenied(ep: Endpoint, repo: string, status: number): TscError {
    return new TscError('ERR_IMAGE', `denied: requested access to ${ep.domain}/${repo} is denied (${ep.host} answered ${status})`, {
      hint: `log in first: tsc-compose login ${ep.domain}`,
    });
  }

  function repository(ref: ImageReference): RepositorySession {
    const candidates = endpointsFor(ref.domain);
    let bound: Endpoint | undefined;
    const repo = ref.path;

    async function manifestFrom(ep: Endpoint, reference: string): Promise<ManifestResponse> {
      const what = `manifest ${ref.domain}/${repo}:${reference}`;
      const res = await call(ep, repo, `/v2/${repo}/manifests/${reference}`, { accept: MANIFEST_ACCEPT }, `fetching ${what}`);
      if (res.status === 404) {
        res.stream.resume();
        throw new TscError('ERR_NOT_FOUND', `manifest for ${ref.domain}/${repo}:${reference} not found: manifest unknown`);
      }
      if (res.status === 401 || res.status === 403) {
        res.stream.resume();
        throw denied(ep, repo, res.status);
      }
      if (res.status !== 200) {
        res.stream.resume();
        throw new TscError('ERR_IMAGE', `${what}: ${ep.host} answered ${res.status}`);
      }
      const data = await readBody(res, 4 << 20);
      const digest = sha256Digest(data);
      if (reference.includes(':') && reference !== digest) {
        throw new TscError('ERR_IMAGE', `${what}: content is ${digest}, not the digest asked for: rejected, nothing stored`);
      }
      let mediaType = (res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
      try {
        const doc = JSON.parse(data.toString('utf8')) as { mediaType?: string; schemaVersion?: number };
        if (doc.schemaVersion === 1) {
          throw new TscError('ERR_UNSUPPORTED', `${what} is a Docker schema 1 manifest, which is not supported`, { hint: 'push the image again with a current Docker or skopeo' });
        }
        if (doc.mediaType !== undefined) mediaType = doc.mediaType;
      } catch (e) {
        if (e instanceof TscError) throw e;
        throw new TscError('ERR_IMAGE', `${what} is not valid JSON`, { cause: e });
      }
      return { data, mediaType, digest };
    }

    return {
      get endpoint() {
        return bound?.base ?? bound?.host ?? candidates[candidates.length - 1]?.host ?? '';
      },
      async getManifest(reference) {
        if (bound !== undefined) return manifestFrom(bound, reference);
        let first: unknown;
        for (const ep of candidates) {
          try {
            const m = await manifestFrom(ep, reference);
            bound = ep;
            return m;
          } catch (e) {
            // A mirror that fails is passed over, as Docker does; the registry's own error wins.
            if (!ep.mirror) throw e;
            first ??= e;
          }
        }
        throw first;
      },
      async blobExists(digest) {
        const ep = candidates[candidates.length - 1] as Endpoint;
        const res = await call(ep, repo, `/v2/${repo}/blobs/${digest}`, {}, `checking blob ${digest}`, { method: 'HEAD', push: true });
        res.stream.resume();
        if (res.status === 401 || res.status === 403) throw pushDenied(ep, repo, res.status);
        return res.status === 200;
      },
      async pushBlob(desc, open) {
        const ep = candidates[candidates.length - 1] as Endpoint;
        const what = `pushing blob ${desc.digest} to ${ref.domain}/${repo}`;
        const start = await call(ep, repo, `/v2/${repo}/blobs/uploads/`, { 'content-length': '0' }, what, { method: 'POST', push: true });
        start.stream.resume();
        if (start.status === 401 || start.status === 403) throw pushDenied(ep, repo, start.status);
        const location = start.headers.location;
        if (start.status !== 202 || location === undefined) throw new TscError('ERR_IMAGE', `${what}: ${ep.host} answered ${start.status} to the upload request`);
        const url = new URL(location, start.url);
        url.searchParams.set('digest', desc.digest);
        const put = await call(ep, repo, url.toString(), { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) }, what, {
          method: 'PUT',
          bodyStream: open,
          push: true,
        });
        const body = await readBody(put, 1 << 20);
        if (put.status !== 201) throw new TscError('ERR_IMAGE', `${what}: ${ep.host} answered ${put.status}: ${body.toString('utf8').slice(0, 200)}`);
      },
      async putManifest(reference, data, mediaType) {
        const ep = candidates[candidates.length - 1] as Endpoint;
        const what = `pushing manifest ${ref.domain}/${repo}:${reference}`;
        const res = await call(ep, repo, `/v2/${repo}/manifests/${reference}`, { 'content-type': mediaType, 'content-length': String(data.length) }, what, {
          method: 'PUT',
          body: data,
          push: true,
        });
        const body = await readBody(res, 1 << 20);
        if (res.status === 401 || res.status === 403) throw pushDenied(ep, repo, res.status);
        if (res.status !== 201) throw new TscError('ERR_IMAGE', `${what}: ${ep.host} answered ${res.status}: ${body.toString('utf8').slice(0, 200)}`);
      },
      async fetchBlob(desc, writer, onBytes) {
        const ep = bound ?? (candidates[candidates.length - 1] as Endpoint);
        const what = `blob ${desc.digest} of ${ref.domain}/${repo}`;
        for (let attempt = 0; ; attempt++) {
          const headers: OutgoingHttpHeaders = writer.offset > 0 ? { range: `bytes=${writer.offset}-` } : {};
          const res = await call(ep, repo, `/v2/${repo}/blobs/${desc.digest}`, headers, `fetching ${what}`);
          if (res.status === 404) {
            res.stream.resume();
            throw new TscError('ERR_NOT_FOUND', `${what} not found: blob unknown`);
          }
          if (res.status === 401 || res.status === 403) {
            res.stream.resume();
            throw denied(ep, repo, res.status);
          }
          if (res.status !== 200 && res.status !== 206) {
            res.stream.resume();
            throw new TscError('ERR_IMAGE', `${what}: ${ep.host} answered ${res.status}`);
          }
          const start = res.status === 206 ? Number(/bytes (\d+)-/.exec(String(res.headers['content-range']))?.[1] ?? -1) : 0;
          if (start !== writer.offset) {
            if (res.status === 206) {
              res.stream.resume();
              await writer.reset();
              continue;
            }
            await writer.reset(); // the server sent it all again
          }
          try {
            for await (const chunk of res.stream) {
              await writer.write(chunk as Buffer);
              onBytes?.((chunk as Buffer).length);
            }
            if (!res.stream.complete) throw new Error('connection closed before the end of the blob');
            return;
          } catch (e) {
            res.stream.destroy();
            if (e instanceof TscError) throw e;
            if (attempt >= retries) {
              throw new TscError('ERR_IMAGE', `fetching ${what} from ${ep.host} failed after ${attempt + 1} attempts: ${(e as Error).message}`, { cause: e });
            }
            await sleep(backoffMs * 2 ** attempt);
          }
        }
      },
    };
  }

  return { repository };
}
