/**
 * IPv4 and IPv6 addresses as bigints, so that one set of arithmetic serves both families
 * (IPAM, PTR names, subnet overlap checks). Pure and dependency-free.
 */

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** The network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

const V4_BITS = 32;
const V6_BITS = 128;

export function bitsOf(family: Family): number {
  return family === 4 ? V4_BITS : V6_BITS;
}

/** The family of a textual address, or undefined when it is neither. */
export function familyOf(text: string): Family | undefined {
  if (parseIpv4(text) !== undefined) return 4;
  if (parseIpv6(text) !== undefined) return 6;
  return undefined;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(text: string): bigint | undefined {
  if (!text.includes(':')) return undefined;
  let s = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4(tail);
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** Parse an address; throws a plain Error when it is not one (callers validate first). */
export function parseIp(text: string): { family: Family; value: bigint } {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  throw new Error(`not an IP address: ${JSON.stringify(text)}`);
}

export function isIp(text: string): boolean {
  return familyOf(text) !== undefined;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as ::). */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Normalise an address's text (e.g. `fd00:0::1` -> `fd00::1`). */
export function canonicalIp(text: string): string {
  const { family, value } = parseIp(text);
  return formatIp(family, value);
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = text.slice(0, slash);
  const pfx = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(pfx)) return undefined;
  const family = familyOf(addr);
  if (family === undefined) return undefined;
  const prefix = Number(pfx);
  if (prefix > bitsOf(family)) return undefined;
  const { value } = parseIp(addr);
  return { family, base: value & maskOf(family, prefix), prefix };
}

export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefix))) & all;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.base)}/${c.prefix}`;
}

export function sizeOf(c: Cidr): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefix);
}

export function lastOf(c: Cidr): bigint {
  return c.base + sizeOf(c) - 1n;
}

export function cidrContains(c: Cidr, family: Family, value: bigint): boolean {
  return c.family === family && value >= c.base && value <= lastOf(c);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base <= lastOf(b) && b.base <= lastOf(a);
}

/** The reverse-lookup name of an address: `4.3.2.1.in-addr.arpa` or the ip6.arpa nibbles. */
export function ptrNameOf(text: string): string {
  const { family, value } = parseIp(text);
  if (family === 4) {
    return `${formatIp(4, value).split('.').reverse().join('.')}.in-addr.arpa`;
  }
  const nibbles: string[] = [];
  for (let i = 0; i < 32; i++) nibbles.push(((value >> BigInt(i * 4)) & 0xfn).toString(16));
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** The address a PTR name stands for, or undefined when it is not a full reverse name. */
export function addressOfPtrName(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4) return undefined;
    const text = parts.reverse().join('.');
    return familyOf(text) === 4 ? canonicalIp(text) : undefined;
  }
  if (n.endsWith('.ip6.arpa')) {
    const parts = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (parts.length !== 32 || !parts.every((p) => /^[0-9a-f]$/.test(p))) return undefined;
    let v = 0n;
    for (const p of parts.reverse()) v = (v << 4n) | BigInt(parseInt(p, 16));
    return formatIp(6, v);
  }
  return undefined;
}
