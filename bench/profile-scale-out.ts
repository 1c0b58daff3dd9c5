/**
 * Sums the scale-out instances' CPU profiles by phase. Run the benchmark with profiles, then
 * this on the directory:
 *
 *   BENCH_CPU_PROF_DIR=/tmp/prof BENCH_ONLY=scale-out pnpm bench
 *   pnpm exec tsx bench/profile-scale-out.ts /tmp/prof 15633
 *
 * (the second argument: notifications offered, to print microseconds per notification).
 * Each sample goes to the first frame, from the leaf up, that a rule below names: so JSON.parse
 * under pg's row parser counts as "pg: rows", under the decoder as "decode". pg's protocol
 * parsing runs from the socket, not from the query that asked: rows are rows, whichever query
 * (append outcome, read, lease) they answer; notification messages are counted apart.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

type Rule = readonly [phase: string, test: (fn: string, url: string) => boolean];
const RULES: readonly Rule[] = [
  ['gc', (fn) => fn === '(garbage collector)'],
  ['idle', (fn) => fn === '(idle)'],
  ['native (unattributed)', (fn) => fn === '(program)'],
  ['notify: receive (pg protocol)', (fn) => /parseNotificationMessage|_handleNotification|handleNotification/.test(fn)],
  ['notify: handle', (_fn, url) => url.includes('stores/postgres/notifications.ts')],
  ['notify: send', (fn) => /#sendAnnouncements|#announce|#startAnnouncer/.test(fn)],
  ['fold', (_fn, url) => /core\/src\/(fold|emit|machine|reconcile|project)\//.test(url)],
  ['decode (webhook body)', (_fn, url) => url.includes('core/src/decode/')],
  ['read-back (store side)', (fn, url) => url.includes('stores/') && /readStream|readSnapshot|decodeEntry/.test(fn)],
  ['persist (store side)', (_fn, url) => /stores\/(postgres\/(pg-store|group-commit)|shared)\.ts/.test(url)],
  ['pg: rows', (_fn, url) => /pg-types|pg\/lib\/result|parseDataRow|parseRowDescription/.test(url)],
  ['pg: rows', (fn) => /parseDataRowMessage|parseRowDescriptionMessage|handleDataRow|parseRow/.test(fn)],
  ['pg: driver (other)', (_fn, url) => /node_modules\/.*\/(pg|pg-pool|pg-protocol)\//.test(url)],
  ['engine (other)', (_fn, url) => url.includes('core/src/')],
  ['runtime', (_fn, url) => url.includes('runtime/src/')],
  ['http', (_fn, url) => /node:_http|node:http/.test(url) || url.includes('scale-out-server')],
  ['sockets, streams, timers', (_fn, url) => /node:(net|stream|internal\/(stream|net|timers|streams|process\/task_queues))/.test(url)],
];

function phases(profile: Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const phaseOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = phaseOf.get(id);
    if (known) return known;
    let phase = 'other';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url } = byId.get(at)!.callFrame;
      const rule = RULES.find(([, test]) => test(functionName, url));
      if (rule) {
        phase = rule[0];
        break;
      }
    }
    phaseOf.set(id, phase);
    return phase;
  };
  const out = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const phase = classify(profile.samples[i]!);
    out.set(phase, (out.get(phase) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return out;
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: tsx bench/profile-scale-out.ts <dir> [notifications]');
const notifications = Number(process.argv[3] ?? 0);
const fleets = new Map<string, Map<string, number>>();
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const k = /swb_bench_scale_(\d+)_/.exec(file)?.[1];
  if (!k) continue;
  const sum = fleets.get(k) ?? new Map<string, number>();
  for (const [phase, us] of phases(JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as Profile)) {
    sum.set(phase, (sum.get(phase) ?? 0) + us);
  }
  fleets.set(k, sum);
}
const ks = [...fleets.keys()].sort();
const all = [...new Set(ks.flatMap((k) => [...fleets.get(k)!.keys()]))].filter((p) => p !== 'idle');
const busy = (k: string) => all.reduce((n, p) => n + (fleets.get(k)!.get(p) ?? 0), 0);
all.sort((a, b) => (fleets.get(ks.at(-1)!)!.get(b) ?? 0) - (fleets.get(ks.at(-1)!)!.get(a) ?? 0));
const cell = (us: number) => (notifications > 0 ? `${(us / notifications).toFixed(1)} us` : `${(us / 1000).toFixed(0)} ms`);
console.log(`| phase | ${ks.map((k) => `${k} instance(s)`).join(' | ')} |`);
console.log(`| --- | ${ks.map(() => '---').join(' | ')} |`);
for (const p of all) console.log(`| ${p} | ${ks.map((k) => cell(fleets.get(k)!.get(p) ?? 0)).join(' | ')} |`);
console.log(`| **all but idle** | ${ks.map((k) => cell(busy(k))).join(' | ')} |`);
