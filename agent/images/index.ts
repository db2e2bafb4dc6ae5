/**
 * The images library the agent calls: references, the store, pull, load/save, layer
 * snapshots and container root filesystems, image config -> container settings, GC.
 */
export type { ImageReference } from './reference.js';
export { familiarReference, formatReference, normalizeReference, parseReference, repositoryName } from './reference.js';
export type { BlobWriter, ImageRecord, ImageStore } from './image-store.js';
export { openImageStore } from './image-store.js';
export type { ImageLayer, ResolvedImage } from './image-resolve.js';
export { findImage, getImage, resolveTarget } from './image-resolve.js';
export type { PullOptions, PullProgress, PullResult } from './pull.js';
export { pullImage } from './pull.js';
export type { PushOptions, PushResult } from './push.js';
export { pushImage } from './push.js';
export type { PullPolicy, ServiceImage, ServicePullOutcome } from './pull-services.js';
export { pullDecision, pullServices } from './pull-services.js';
export type { RegistryClient, RegistryOptions } from './registry/registry-client.js';
export { createRegistryClient } from './registry/registry-client.js';
export type { CredentialOptions, Credentials, StoredCredentials } from './registry/credentials.js';
export {
  DOCKER_HUB_KEY,
  defaultAuthFile,
  eraseCredentials,
  getCredentials,
  listCredentials,
  loadCredentials,
  serverKey,
  storeCredentials,
} from './registry/credentials.js';
export type { LoginResult } from './registry/login.js';
export { verifyLogin } from './registry/login.js';
export { loadImageArchive, saveImages } from './archive.js';
export type { ImportedImage } from './import-layout.js';
export { importOciDir } from './import-layout.js';
export { ensureSnapshot, hasSnapshot, snapshotPath } from './snapshots.js';
export type { PreparedRootfs, RootfsRecord } from './rootfs.js';
export { isMounted, listRootfs, prepareRootfs, removeRootfs } from './rootfs.js';
export type { ContainerSettings, Healthcheck, HealthcheckOverride, ServiceOverrides } from './container-settings.js';
export { containerSettings } from './container-settings.js';
export type { GcResult } from './gc.js';
export { garbageCollect } from './gc.js';
export type { ImageInspect, ImageSummary, RemoveResult } from './image-ops.js';
export { inspectImage, listImageSummaries, removeImage } from './image-ops.js';
export type { Descriptor, ImageConfig, ImageIndex, ImageManifest, ImageRuntimeConfig, Platform } from './media-types.js';
export { formatPlatform, hostPlatform, parsePlatform } from './media-types.js';
export { extractLayer } from './extract-layer.js';
export { readTar } from './tar-reader.js';
