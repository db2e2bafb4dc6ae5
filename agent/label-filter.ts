/** Docker's `label` filter: every `key` must be present and every `key=value` must match. */
export function matchesLabels(labels: Readonly<Record<string, string>>, filter: readonly string[] | undefined): boolean {
  return (filter ?? []).every((f) => {
    const eq = f.indexOf('=');
    return eq < 0 ? f in labels : labels[f.slice(0, eq)] === f.slice(eq + 1);
  });
}
