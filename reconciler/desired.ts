/**
 * What the reconciler is asked to make real: a project reduced to what `up` and `down` need.
 * It is built from the loader's `Project` (`from-project.ts`), so the reconciler does not
 * depend on every compose attribute, and tests can write one by hand.
 */
import type { ContainerSpec, NetworkSpec, VolumeSpec } from '../agent/api/types.js';

export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface Dependency {
  service: string;
  condition: DependencyCondition;
  required: boolean;
  restart: boolean;
}

export type PullPolicy = 'always' | 'missing' | 'never' | 'build' | 'daily' | 'weekly';

export interface DesiredServiceSpec {
  name: string;
  scale: number;
  configHash: string;
  image: string;
  pullPolicy: PullPolicy;
  dependsOn: Dependency[];
  /** The container spec of the n-th replica (numbered from 1). */
  container(number: number): ContainerSpec;
}

export interface DesiredNetwork {
  /** The key under `networks:` in the compose file. */
  key: string;
  external: boolean;
  spec: NetworkSpec;
}

export interface DesiredVolume {
  key: string;
  external: boolean;
  spec: VolumeSpec;
}

export interface DesiredProject {
  name: string;
  /** What the project asks for that this host cannot do yet: said once, never silently dropped. */
  warnings: string[];
  services: DesiredServiceSpec[];
  networks: DesiredNetwork[];
  volumes: DesiredVolume[];
}
