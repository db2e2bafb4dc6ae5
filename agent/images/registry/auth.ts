/**
 * Registry authentication pieces: the `WWW-Authenticate` challenge (RFC 7235, as the
 * distribution token spec uses it) and the Basic header (credentials live in `credentials.ts`).
 */
import type { Credentials } from './credentials.js';

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

export function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
