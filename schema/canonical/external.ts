/** Top-level networks, volumes, secrets, configs: the deprecated `external.name` (compose-go transformMaybeExternal). */
import type { Rule } from '../walk.js';
import { isMapping } from '../walk.js';
import { asBool } from './values.js';

/**
 * Top-level networks, volumes, secrets, configs: `external: {name: x}` (deprecated) is
 * `external: true` with `name: x`.
 */
export const transformMaybeExternal: Rule = (value, at) => {
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = { ...value };
  if (isMapping(out.external)) {
    const extName = out.external.name;
    out.external = true;
    if (extName !== undefined) {
      if (out.name !== undefined && out.name !== extName) {
        throw at.positions.error('ERR_COMPOSE_INVALID', 'name and external.name conflict; only use name', `${at.path}.external.name`);
      }
      out.name = extName;
    }
  } else if (out.external !== undefined) {
    out.external = asBool(out.external, { ...at, path: `${at.path}.external` });
  }
  return out;
};
