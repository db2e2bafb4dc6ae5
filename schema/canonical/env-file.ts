/** Service `env_file`: string or list to `[{path, required}]` (compose-go transformEnvFile). */
import type { Rule } from '../walk.js';
import { isMapping } from '../walk.js';
import { asBool } from './values.js';
import { orderKeys } from './order.js';

/** `env_file: .env` or `[a.env]` → `[{path, required: true}]`. */
export const transformEnvFile: Rule = (value, at) => {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) return value;
  return list.map((item, i) => {
    if (typeof item === 'string') return { path: item, required: true };
    if (!isMapping(item)) return item;
    const required = item.required === undefined ? true : asBool(item.required, { ...at, path: `${at.path}[${i}].required` });
    return orderKeys({ ...item, required }, ['path', 'required', 'format']);
  });
};
