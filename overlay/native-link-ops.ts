/**
 * LinkOps as the input of tsc-spawn's `@links` built-in (agent/runtime/native/spawn/links.c):
 * the hot path's veth, addresses, routes, sysctls and resolver table done with rtnetlink and
 * libnftables in one forked child instead of ~6 programs (sh, ip, nsenter, sh, ip, nft).
 * Pure: only the forms the built-in knows are rendered; anything else gives undefined and the
 * caller keeps the `sh` script (renderLinkScript).
 */
import type { LinkOp } from './link-plan.js';

/** A word the built-in can take: its lines split on single spaces. */
const WORD = /^[^\s]+$/;
const IFNAME = /^[^\s/:]{1,15}$/;
/** An alternative interface name (the kernel allows up to 127 bytes). */
const ALTNAME = /^[^\s/:]{1,127}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const NUM = /^[1-9][0-9]{0,9}$/;
const ADDR = /^[0-9a-fA-F.:]+$/;
const CIDR = /^[0-9a-fA-F.:]+(\/[0-9]{1,3})?$/;

/** `link add H [mtu N] type veth peer name P [address MAC] [mtu N] netns NSPATH` (planAttach's form). */
function veth(a: readonly string[]): string | undefined {
  let i = 3;
  let mtu: string | undefined;
  if (a[i] === 'mtu') {
    mtu = a[i + 1];
    i += 2;
  }
  if (a[i] !== 'type' || a[i + 1] !== 'veth' || a[i + 2] !== 'peer' || a[i + 3] !== 'name') return undefined;
  const peer = a[i + 4];
  i += 5;
  let mac: string | undefined;
  if (a[i] === 'address') {
    mac = a[i + 1];
    i += 2;
  }
  let peerMtu: string | undefined;
  if (a[i] === 'mtu') {
    peerMtu = a[i + 1];
    i += 2;
  }
  let ns: string | undefined;
  if (a[i] === 'netns') {
    ns = a[i + 1];
    i += 2;
  }
  const host = a[2];
  if (i !== a.length || host === undefined || peer === undefined || !IFNAME.test(host) || !IFNAME.test(peer)) return undefined;
  // One MTU for both ends (the built-in's form), as planAttach gives it.
  if (mtu !== peerMtu || (mtu !== undefined && !NUM.test(mtu))) return undefined;
  if (mac !== undefined && !MAC.test(mac)) return undefined;
  if (ns !== undefined && !(ns.startsWith('/') && WORD.test(ns))) return undefined;
  return `veth ${host} ${peer} ${mtu ?? '-'} ${mac ?? '-'} ${ns ?? '-'}`;
}

/** One `ip` step in the built-in's words, or undefined. */
function ipLine(a: readonly string[]): string | undefined {
  const s = a.join(' ');
  let m: RegExpMatchArray | null;
  if ((m = /^netns (add|del) ([\w.-]+)$/.exec(s)) && m[2] !== '.' && m[2] !== '..') return `netns-${m[1]} ${m[2]}`;
  if ((m = /^link add (\S+)( mtu (\S+))?( address (\S+))? type bridge$/.exec(s)) && IFNAME.test(m[1] as string)) {
    if ((m[3] !== undefined && !NUM.test(m[3])) || (m[5] !== undefined && !MAC.test(m[5]))) return undefined;
    return `bridge ${m[1]} ${m[3] ?? '-'} ${m[5] ?? '-'}`;
  }
  if (a[0] === 'link' && a[1] === 'add') return veth(a);
  if ((m = /^link property add dev (\S+) altname (\S+)$/.exec(s)) && IFNAME.test(m[1] as string) && ALTNAME.test(m[2] as string)) return `altname ${m[1]} ${m[2]}`;
  if ((m = /^link set (\S+) master (\S+)$/.exec(s)) && IFNAME.test(m[1] as string) && IFNAME.test(m[2] as string)) return `master ${m[1]} ${m[2]}`;
  if ((m = /^link set dev (\S+) type bridge_slave hairpin (on|off)( isolated (on|off))?$/.exec(s)) && IFNAME.test(m[1] as string)) {
    return `brport ${m[1]} ${m[2]} ${m[4] ?? '-'}`;
  }
  if ((m = /^link set (\S+) up$/.exec(s)) && IFNAME.test(m[1] as string)) return `up ${m[1]}`;
  if ((m = /^link set (\S+) address (\S+)$/.exec(s)) && IFNAME.test(m[1] as string) && MAC.test(m[2] as string)) return `mac ${m[1]} ${m[2]}`;
  if ((m = /^addr add (\S+) dev (\S+)( nodad)?$/.exec(s)) && CIDR.test(m[1] as string) && IFNAME.test(m[2] as string)) {
    return `addr ${m[2]} ${m[1]}${m[3] ?? ''}`;
  }
  if ((m = /^route replace default via (\S+) dev (\S+)$/.exec(s)) && ADDR.test(m[1] as string) && IFNAME.test(m[2] as string)) {
    return `route-default ${m[2]} ${m[1]}`;
  }
  if ((m = /^link set dev (\S+) group ([1-9]\d*)$/.exec(s)) && IFNAME.test(m[1] as string) && NUM.test(m[2] as string)) return `group ${m[1]} ${m[2]}`;
  if ((m = /^link del group ([1-9]\d*)$/.exec(s)) && NUM.test(m[1] as string)) return `group-del ${m[1]}`;
  if ((m = /^link del (\S+)$/.exec(s)) && IFNAME.test(m[1] as string)) return `link-del ${m[1]}`;
  return undefined;
}

function opLine(op: LinkOp): string | undefined {
  switch (op.kind) {
    case 'ip': {
      const line = op.args.some((w) => !WORD.test(w)) ? undefined : ipLine(op.args);
      // A nicety whose failure is ignored (`? OP`: the built-in goes on, saying nothing).
      return line === undefined || op.optional !== true ? line : `? ${line}`;
    }
    case 'sysctl': {
      // The path the script writes (`printf %s V > /proc/sys/...`), dots to slashes alike.
      const path = op.key.replaceAll('.', '/');
      return WORD.test(path) && !path.startsWith('/') && !path.includes('..') && WORD.test(op.value) ? `sysctl ${path} ${op.value}` : undefined;
    }
    case 'nft':
      return `nft ${Buffer.byteLength(op.script)}\n${op.script}`;
    case 'cmd':
      return undefined;
  }
}

/**
 * The `@links` input for ops (an `enter` line wherever the namespace changes), or undefined
 * when any op is not of a form the built-in knows.
 */
export function renderNativeLinkOps(ops: readonly LinkOp[]): string | undefined {
  const out: string[] = [];
  let netns: string | undefined;
  for (const op of ops) {
    const line = opLine(op);
    if (line === undefined) return undefined;
    if (op.netns !== netns) {
      if (op.netns !== undefined && !(op.netns.startsWith('/') && WORD.test(op.netns))) return undefined;
      out.push(`enter ${op.netns ?? '-'}`);
      netns = op.netns;
    }
    out.push(line);
  }
  return `${out.join('\n')}\n`;
}
