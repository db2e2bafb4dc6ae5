/** Service `devices`: `host:container[:permissions]` to long syntax (compose-go transformDeviceMapping). */
import type { Rule } from '../walk.js';

/** `devices: ["/dev/sda:/dev/xvda:r"]` → `{source, target, permissions}` (permissions `rwm`). */
export const transformDevice: Rule = (value, at) => {
  if (typeof value !== 'string') return value;
  const parts = value.split(':');
  if (parts.length > 3) {
    throw at.positions.error('ERR_COMPOSE_INVALID', `confusing device mapping, please use long syntax: ${value}`, at.path);
  }
  const source = parts[0] as string;
  const target = parts[1] === undefined || parts[1] === '' ? source : parts[1];
  return { source, target, permissions: parts[2] ?? 'rwm' };
};
