/**
 * One HTTP(S) request with node's http/https, keep-alive agents shared per process (a pull
 * makes many requests to one host), an idle timeout, and redirects followed without leaking
 * the Authorization header to another host (blob redirects often go to object storage).
 */
import http from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });
const insecureAgent = new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false });

export interface HttpRequest {
  method?: string;
  url: string;
  headers?: OutgoingHttpHeaders;
  /** Accept any TLS certificate (insecure registries). */
  insecure?: boolean;
  timeoutMs?: number;
  body?: Buffer;
  /** A streamed body (blob uploads); a function so that a retry can open it again. */
  bodyStream?: () => NodeJS.ReadableStream;
}

export interface HttpResponse {
  status: number;
  headers: IncomingMessage['headers'];
  /** The final URL, after redirects. */
  url: string;
  stream: IncomingMessage;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function once(req: HttpRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(req.url);
    const isHttps = u.protocol === 'https:';
    const mod = isHttps ? https : http;
    const r = mod.request(
      u,
      {
        method: req.method ?? 'GET',
        headers: req.headers,
        agent: isHttps ? (req.insecure === true ? insecureAgent : httpsAgent) : httpAgent,
      },
      resolve,
    );
    r.setTimeout(req.timeoutMs ?? 30_000, () => r.destroy(new Error(`no response from ${u.host} in ${req.timeoutMs ?? 30_000} ms`)));
    r.on('error', reject);
    if (req.bodyStream !== undefined) {
      const src = req.bodyStream();
      src.on('error', (e: Error) => r.destroy(e));
      src.pipe(r);
    } else r.end(req.body);
  });
}

export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  let url = req.url;
  let headers = { ...req.headers };
  for (let hops = 0; hops <= 5; hops++) {
    const res = await once({ ...req, url, headers });
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) {
      // An idle timeout while the body streams aborts it instead of hanging forever.
      res.setTimeout?.(req.timeoutMs ?? 30_000, () => res.destroy(new Error(`stalled reading from ${new URL(url).host}`)));
      return { status: res.statusCode ?? 0, headers: res.headers, url, stream: res };
    }
    res.resume();
    const next = new URL(location, url);
    if (next.host !== new URL(url).host) {
      const { authorization: _drop, ...rest } = headers as Record<string, unknown>;
      headers = rest as OutgoingHttpHeaders;
    }
    url = next.toString();
  }
  throw new Error(`too many redirects from ${req.url}`);
}

/** Read a whole (small) response body, refusing more than `limit` bytes. */
export async function readBody(res: HttpResponse, limit = 8 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res.stream) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.stream.destroy();
      throw new Error(`response from ${res.url} is larger than ${limit} bytes`);
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}
