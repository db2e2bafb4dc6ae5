/** Sizes as the docker CLI prints them: decimal units, `1.2kB`, `34.5MB`, `1.02GB`. */
export function formatSize(n: number): string {
  if (n < 1000) return `${n}B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}MB`;
  return `${(n / 1e9).toFixed(2)}GB`;
}
