/** Service `extends`: a string names the service (compose-go transformExtends). */
import type { Rule } from '../walk.js';

/** `extends: base` → `{service: base}`. */
export const transformExtends: Rule = (value) => (typeof value === 'string' ? { service: value } : value);
