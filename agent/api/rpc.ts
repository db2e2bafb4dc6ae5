/**
 * The wire form of `AgentApi` on the agent's unix socket: HTTP/1.1, one route per method.
 *
 *   POST /v1/<method>          body: JSON array of arguments → 200 JSON result
 *   POST /v1/<method>?stream   same, for methods that return AsyncIterable: NDJSON lines
 *
 * Errors come back as status 4xx/5xx with `{ code, message, hint }`, and the client throws
 * the same TscError the agent threw. Callbacks (pull progress) travel as NDJSON lines of a
 * stream, the last line being the result.
 */
import type { AgentApi } from './types.js';

/** Methods that return an AsyncIterable and so are served as NDJSON streams. */
export const STREAM_METHODS = ['logs', 'events'] as const satisfies ReadonlyArray<keyof AgentApi>;

/** Where each stream method takes its options (and so its AbortSignal). */
export const STREAM_OPTIONS_AT: Record<(typeof STREAM_METHODS)[number], number> = { logs: 1, events: 0 };

/** Methods served on an upgraded connection (exec-stream.ts), not as a JSON call. */
export const UPGRADE_METHODS = ['execAttach', 'attachContainer'] as const satisfies ReadonlyArray<keyof AgentApi>;

/** Methods whose last argument is a progress callback, served as NDJSON with a final result. */
export const PROGRESS_METHODS = ['pullImage', 'pushImage', 'buildImage'] as const satisfies ReadonlyArray<keyof AgentApi>;

export type StreamMethod = (typeof STREAM_METHODS)[number];
export type ProgressMethod = (typeof PROGRESS_METHODS)[number];

/** Every method name of AgentApi, checked by the compiler against the interface. */
export const METHODS = [
  'info',
  'createContainer',
  'startContainer',
  'stopContainer',
  'killContainer',
  'restartContainer',
  'pauseContainer',
  'unpauseContainer',
  'removeContainer',
  'inspectContainer',
  'listContainers',
  'waitContainer',
  'logs',
  'exec',
  'syncFiles',
  'execAttach',
  'attachContainer',
  'topContainer',
  'statsContainer',
  'copyFromContainer',
  'copyToContainer',
  'pullImage',
  'pushImage',
  'tagImage',
  'buildImage',
  'listImages',
  'removeImage',
  'loadImage',
  'inspectImage',
  'saveImages',
  'pruneImages',
  'createNetwork',
  'removeNetwork',
  'listNetworks',
  'inspectNetwork',
  'pruneNetworks',
  'connectNetwork',
  'disconnectNetwork',
  'createVolume',
  'removeVolume',
  'listVolumes',
  'inspectVolume',
  'pruneVolumes',
  'events',
] as const satisfies ReadonlyArray<keyof AgentApi>;

// Fails to compile when AgentApi gains a method that METHODS does not list.
type Missing = Exclude<keyof AgentApi, (typeof METHODS)[number]>;
export const everyMethodListed: [Missing] extends [never] ? true : Missing = true;

export type StreamLine =
  | { kind: 'item'; value: unknown }
  | { kind: 'progress'; value: unknown }
  | { kind: 'result'; value: unknown }
  | { kind: 'error'; value: WireError };

export interface WireError {
  code: string;
  message: string;
  hint?: string;
}

/** HTTP status for an error code, as the Docker Engine API uses them. */
export function statusFor(code: string): number {
  switch (code) {
    case 'ERR_NOT_FOUND':
      return 404;
    case 'ERR_CONFLICT':
      return 409;
    case 'ERR_USAGE':
    case 'ERR_COMPOSE_INVALID':
      return 400;
    default:
      return 500;
  }
}
