/**
 * The live index of a file written before it existed: each stream's `ended_at` from its log,
 * by core's own rule (`endsCall`), once, inside the migration's transaction.
 */
import { noteEnding } from '../shared.js';
import type BetterSqlite3 from 'better-sqlite3';
import { keep } from './keep.js';

/**
 * Sets `ended_at` for every stream whose log holds an entry that ends its call: the earliest
 * such entry's `at`. Only entries that can end a call are read (a resync, or a body naming
 * `terminated`, `deleted` or a 404; the rule itself decides), a stream at a time.
 */
export function backfillEndedAt(db: BetterSqlite3.Database): number {
  const candidates = keep(
    db.prepare(
      `SELECT stream_key AS key, at, body FROM swb_entries
        WHERE kind = 'resync' OR body LIKE '%terminated%' OR body LIKE '%deleted%' OR (kind = 'commandResult' AND body LIKE '%404%')
        ORDER BY stream_key, position`,
    ),
  );
  const setEnded = keep(db.prepare('UPDATE swb_streams SET ended_at = ? WHERE stream_key = ?'));
  const ended = new Map<number, number>();
  // the iterator is a better-sqlite3 object too: kept, or the collector's freeing it aborts Node 24
  for (const row of keep(candidates.iterate()) as Iterable<{ key: number; at: number; body: string }>) {
    noteEnding(ended, row.key, row.at, row.body);
  }
  for (const [key, at] of ended) setEnded.run(at, key);
  return ended.size;
}
