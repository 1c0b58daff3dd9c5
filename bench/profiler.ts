import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * Runs `fn`, and with a `file` writes a .cpuprofile of that run alone (node:inspector, sampling
 * every `intervalUs`), so workload generation and module loading stay out of the profile.
 */
export async function profiled<T>(file: string | undefined, intervalUs: number, fn: () => T | Promise<T>): Promise<T> {
  if (!file) return fn();
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    const result = await fn();
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}
