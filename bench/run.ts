import { benchIngest, benchMemory, benchReplay } from './core.js';
import { table, writeReport, type Row } from './report.js';

/**
 * `pnpm bench`: runs every benchmark, prints one table and writes it to docs/benchmarks.md.
 * `pnpm bench --quick` runs fewer rounds (for a smoke check; figures are noisier).
 */
const quick = process.argv.includes('--quick');
const rows: Row[] = [];
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

log('ingest ...');
rows.push(...(await benchIngest(quick ? 2 : 5)));
log('replay of 1,000,000 entries ...');
rows.push(...benchReplay());
log('memory, 100,000 idle calls ...');
rows.push(...(await benchMemory()));

console.log(table(rows));
if (!quick) writeReport('docs/benchmarks.md', rows, 'pnpm bench');
