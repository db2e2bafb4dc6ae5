/**
 * Work started side by side that must all finish before any failure is acted on (nothing is
 * undone or reported while a sibling still runs): resolves when every promise has settled, and
 * then rejects with the first failure, in the order given.
 */
export async function settleAll(promises: Iterable<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
