/**
 * Compose/Docker `cap_add` and `cap_drop` applied to Docker's default set: names with or
 * without the `CAP_` prefix, any case, and `ALL` on either side (drop ALL first, then add).
 */
import { TscError } from '../../lib/errors.js';
import { DEFAULT_CAPABILITIES } from './spec.js';
import type { Capabilities } from './spec.js';

/** Every capability the kernel headers of this project know, in number order. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

function normalize(name: string, where: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return upper;
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(full)) throw new TscError('ERR_COMPOSE_INVALID', `unknown capability "${name}" in ${where}`, { path: where });
  return full;
}

/** The process capabilities for a container: bounding = effective = permitted, as Docker sets them. */
export function capabilitiesFor(add: readonly string[] = [], drop: readonly string[] = []): Capabilities {
  const adds = add.map((n) => normalize(n, 'cap_add'));
  const drops = drop.map((n) => normalize(n, 'cap_drop'));
  let set = new Set(DEFAULT_CAPABILITIES);
  if (drops.includes('ALL')) set = new Set();
  for (const d of drops) set.delete(d);
  if (adds.includes('ALL')) set = new Set(ALL_CAPABILITIES);
  for (const a of adds) if (a !== 'ALL') set.add(a);
  const list = ALL_CAPABILITIES.filter((c) => set.has(c));
  return { bounding: list, effective: [...list], permitted: [...list] };
}
