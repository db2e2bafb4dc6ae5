/**
 * The manifest, index and config shapes of the OCI image spec and Docker's schema2, and the
 * media types that tell them apart. Docker's and OCI's are field-compatible, so one set of
 * types serves both.
 */
export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const MANIFEST_TYPES: readonly string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];
export const INDEX_TYPES: readonly string[] = [MEDIA.ociIndex, MEDIA.dockerManifestList];

/** The Accept header of a pull: every manifest kind we can read. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerManifestList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ');

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** The full image name, as containerd and `docker save` (25+) write it in index.json. */
export const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
  'os.version'?: string | undefined;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string> | undefined;
  platform?: Platform | undefined;
  urls?: string[] | undefined;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string | undefined;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string> | undefined;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string | undefined;
  manifests: Descriptor[];
  annotations?: Record<string, string> | undefined;
}

export interface HealthConfig {
  Test?: string[] | undefined;
  /** Nanoseconds, as in Docker's image config. */
  Interval?: number | undefined;
  Timeout?: number | undefined;
  StartPeriod?: number | undefined;
  StartInterval?: number | undefined;
  Retries?: number | undefined;
}

/** The `config` part of an image config (Docker's ContainerConfig subset the spec keeps). */
export interface ImageRuntimeConfig {
  User?: string | undefined;
  ExposedPorts?: Record<string, object> | undefined;
  Env?: string[] | undefined;
  Entrypoint?: string[] | null | undefined;
  Cmd?: string[] | null | undefined;
  Volumes?: Record<string, object> | undefined;
  WorkingDir?: string | undefined;
  Labels?: Record<string, string> | undefined;
  StopSignal?: string | undefined;
  Healthcheck?: HealthConfig | undefined;
  Shell?: string[] | undefined;
  ArgsEscaped?: boolean | undefined;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string | undefined;
  created?: string | undefined;
  author?: string | undefined;
  config?: ImageRuntimeConfig | undefined;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: Array<Record<string, unknown>> | undefined;
}

export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.includes(mediaType);
}

export function isManifestType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && MANIFEST_TYPES.includes(mediaType);
}

/** Media type of a manifest document: its own field, else guessed from its shape. */
export function manifestKind(doc: { mediaType?: string | undefined; manifests?: unknown; config?: unknown }): 'index' | 'manifest' | 'unknown' {
  if (isIndexType(doc.mediaType)) return 'index';
  if (isManifestType(doc.mediaType)) return 'manifest';
  if (doc.mediaType === undefined) {
    if (Array.isArray(doc.manifests)) return 'index';
    if (doc.config !== undefined) return 'manifest';
  }
  return 'unknown';
}

/** Compression a layer media type implies. */
export function layerCompression(mediaType: string): 'gzip' | 'zstd' | 'none' | undefined {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar') || mediaType.endsWith('.diff.tar')) return 'none';
  return undefined;
}

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' };

/** Parse `linux/amd64`, `linux/arm64/v8`, `amd64`. */
export function parsePlatform(s: string): Platform {
  const parts = s.toLowerCase().split('/');
  if (parts.length === 1) return normalizePlatform({ os: 'linux', architecture: parts[0] ?? '' });
  return normalizePlatform({ os: parts[0] ?? 'linux', architecture: parts[1] ?? '', variant: parts[2] });
}

export function normalizePlatform(p: Platform): Platform {
  const architecture = ARCH_ALIASES[p.architecture] ?? p.architecture;
  let variant = p.variant === '' ? undefined : p.variant;
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  return { os: p.os, architecture, variant };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
}

/** The platform of this machine, as images name it. */
export function hostPlatform(): Platform {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return normalizePlatform({ os: 'linux', architecture: arch });
}

/** Does a manifest's platform satisfy the wanted one (os, architecture, variant)? */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (have === undefined) return false;
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  return w.os === h.os && w.architecture === h.architecture && (w.variant === undefined || w.variant === h.variant);
}

/** Pick the manifest for `want` from an index: the first match, as containerd's matcher does. */
export function selectManifest(index: ImageIndex, want: Platform): Descriptor | undefined {
  return index.manifests.find((d) => isManifestType(d.mediaType) || d.mediaType === undefined ? platformMatches(want, d.platform) : false);
}
