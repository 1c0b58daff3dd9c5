import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';

export interface Row {
  readonly benchmark: string;
  readonly baseline: string;
  readonly figure: string;
  /** cost relative to the baseline measured in the same run (lower is cheaper), or null */
  readonly ratio: number | null;
  readonly target: string;
  readonly met: boolean;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
}

export function table(rows: readonly Row[]): string {
  const lines = [
    '| benchmark | baseline (same run) | figure | ratio to baseline | target | met |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.benchmark} | ${r.baseline} | ${r.figure} | ${r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`} | ${r.target} | ${r.met ? 'yes' : '**no**'} |`,
    ),
  ];
  return lines.join('\n');
}

export function writeReport(path: string, rows: readonly Row[], command: string, notes: readonly string[] = [], run = ''): void {
  const text = [
    '# Benchmarks',
    '',
    `Produced by \`${command}\` on ${new Date().toISOString().slice(0, 10)}: ${machine()}${run ? `; ${run}` : ''}.`,
    'Every ratio is against a baseline measured in the same run (the machines are shared and noisy);',
    'times are medians over the rounds.',
    '',
    table(rows),
    '',
    ...(notes.length ? [...notes, ''] : []),
  ].join('\n');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
