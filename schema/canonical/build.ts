/** Service `build`: a string is the context (compose-go transformBuild). */
import type { Rule } from '../walk.js';

/** `build: ./dir` → `{context: ./dir}` (the Dockerfile default is filled after merge). */
export const transformBuild: Rule = (value) => (typeof value === 'string' ? { context: value } : value);
