/**
 * CPU and WAL bytes per append of the SQLite store's writer (`GroupWriter`, the code the writer
 * thread runs), for three shapes of call ids: sequential strings with a new stream per append
 * (what the webhook benchmark sends), GUIDs with a new stream per append, and 1,000 GUID calls
 * appended to in turn (a busy bot: Graph's call ids are GUIDs). Groups of 12 one-entry appends
 * of a 0.5 KB notification, synchronous=full, WAL checkpoints off so the WAL's size is what was
 * written. Median of 3 rounds of 12,000 appends.
 *
 *   node --import tsx bench/profile-sqlite-writes.ts
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQLITE_MIGRATIONS } from '../packages/adapters/src/stores/sqlite/schema.js';
import { GroupWriter, OP_APPEND } from '../packages/adapters/src/stores/sqlite/writer.js';

// better-sqlite3 is the adapters package's dependency, not the root's
type Connection = ConstructorParameters<typeof GroupWriter>[0];
const Database = createRequire(new URL('../packages/adapters/package.json', import.meta.url))('better-sqlite3') as new (
  path: string,
) => Connection;
const body = JSON.stringify({
  kind: 'notification',
  id: 'n:abcdef0123456789',
  callId: 'x',
  at: 1,
  changeType: 'updated',
  resourceUrl: '/communications/calls/x',
  target: { type: 'call' },
  resourceData: {
    '@odata.type': '#microsoft.graph.call',
    state: 'established',
    direction: 'incoming',
    callbackUri: 'https://bot.example.com/api/calls',
    source: { identity: { user: { id: 'u1', displayName: 'Ann' } } },
    targets: [{ identity: { application: { id: 'app', displayName: 'Bot' } } }],
    requestedModalities: ['audio'],
    tenantId: 't1',
    myParticipantId: 'p1',
  },
});
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const calls = Array.from({ length: 1000 }, () => randomUUID());
const shapes: Record<string, (k: number) => string> = {
  'sequential ids, a new stream each append': (k) => `call-${String(k).padStart(8, '0')}`,
  'GUIDs, a new stream each append': () => randomUUID(),
  '1,000 GUID calls appended to in turn': (k) => calls[k % calls.length]!,
};
const dir = mkdtempSync(join(tmpdir(), 'swb-sqlite-writes-'));
try {
  console.log(`schema ${SQLITE_MIGRATIONS.length}`);
  for (const [name, idOf] of Object.entries(shapes)) {
    const rounds: { cpu: number; wal: number }[] = [];
    for (let round = 0; round < 3; round++) {
      const path = join(dir, `r${round}-${name.length}.db`);
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('wal_autocheckpoint = 0');
      for (const migration of SQLITE_MIGRATIONS) db.exec(migration);
      const writer = new GroupWriter(db);
      const appends = 12_000;
      let k = 0;
      const start = cpuUs();
      for (let g = 0; g < appends / 12; g++) {
        const group: (string | number)[] = [];
        for (let j = 0; j < 12; j++, k++) group.push(OP_APPEND, idOf(k), -1, '', 1, `n:${k}`, 'notification', 1, body);
        const outcome = writer.commit(group);
        if ('failure' in outcome) throw new Error(outcome.failure.message);
      }
      rounds.push({ cpu: (cpuUs() - start) / appends, wal: statSync(`${path}-wal`).size / appends / 1024 });
      db.close();
    }
    const mid = (xs: number[]) => xs.sort((a, b) => a - b)[1]!;
    console.log(
      `${name.padEnd(42)} ${mid(rounds.map((r) => r.cpu)).toFixed(1)} us CPU, ${mid(rounds.map((r) => r.wal)).toFixed(1)} KiB of WAL per append`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
