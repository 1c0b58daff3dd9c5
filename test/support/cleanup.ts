/**
 * Releases what a test owns, in order, each even when one before it throws (a runtime that
 * fails to stop must not leave the simulator, the servers and the store open); then throws
 * the first failure, with the others beside it.
 */
export async function releaseAll(releases: ReadonlyArray<(() => unknown) | undefined>): Promise<void> {
  const failures: unknown[] = [];
  for (const release of releases) {
    if (!release) continue;
    try {
      await release();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} releases failed`);
}
