/** Service `extra_hosts`: list or map to sorted `host=ip` (compose-go HostsList). */
import type { Rule } from '../walk.js';
import { isMapping } from '../walk.js';

/**
 * `extra_hosts`: a list of `host:ip` or `host=ip`, or a mapping host → ip (or ips), printed as
 * docker compose prints its HostsList: sorted `host=ip` strings. The first `=`, else the first
 * `:`, separates the host, so `myhost:::1` maps `myhost` to `::1`.
 */
export const transformExtraHosts: Rule = (value) => {
  const entries: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = String(item);
      const eq = text.indexOf('=');
      const sep = eq >= 0 ? eq : text.indexOf(':');
      entries.push(sep < 0 ? text : `${text.slice(0, sep)}=${text.slice(sep + 1)}`);
    }
  } else if (isMapping(value)) {
    for (const [host, ips] of Object.entries(value)) {
      for (const ip of Array.isArray(ips) ? ips : [ips]) entries.push(`${host}=${String(ip)}`);
    }
  } else {
    return value;
  }
  return [...new Set(entries)].sort();
};
