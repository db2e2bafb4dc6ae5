/** The pure Raft core: everything a shell (node.ts, the simulator) needs to drive it. */
export { RaftCore, type Ready, type Status, type PeerStatus } from './raft-core.js';
export type { RaftConfig, RaftLogger } from './raft.js';
export { seededRand, type Rand } from './rand.js';
export type { ReadOnlyOption } from './read-only.js';
export * from './types.js';
