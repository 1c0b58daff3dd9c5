/**
 * The live index of a schema written before it existed: each stream's `ended_at` from its log,
 * by core's own rule (`endsCall`), once, inside the migration's transaction.
 */
import { noteEnding } from '../shared.js';
import type pg from 'pg';

/**
 * Sets `ended_at` for every stream whose log holds an entry that ends its call: the earliest
 * such entry's `at`. Only entries that can end a call are read (a resync, or a body naming
 * `terminated`, `deleted` or a 404; the rule itself decides), a page of streams at a time.
 */
export async function backfillEndedAt(client: pg.PoolClient, schema: string): Promise<number> {
  const ended = new Map<string, number>();
  let after = '';
  for (;;) {
    // a page of streams, then the entries of theirs that may end a call
    const { rows: page } = await client.query<{ stream_id: string }>(
      `SELECT stream_id FROM ${schema}.streams WHERE stream_id > $1 ORDER BY stream_id LIMIT 1000`,
      [after],
    );
    if (page.length === 0) break;
    after = page[page.length - 1]!.stream_id;
    const { rows } = await client.query<{ stream_id: string; at: number; body: string }>(
      `SELECT stream_id, at, body::text AS body FROM ${schema}.entries
        WHERE stream_id = ANY ($1::text[])
          AND (kind = 'resync' OR body::text ILIKE '%terminated%' OR body::text ILIKE '%deleted%'
               OR (kind = 'commandResult' AND body::text LIKE '%404%'))
        ORDER BY stream_id, position`,
      [page.map((r) => r.stream_id)],
    );
    for (const row of rows) noteEnding(ended, row.stream_id, row.at, row.body);
  }
  if (ended.size > 0) {
    await client.query(
      `UPDATE ${schema}.streams st SET ended_at = u.at FROM unnest($1::text[], $2::float8[]) u (id, at) WHERE st.stream_id = u.id`,
      [[...ended.keys()], [...ended.values()]],
    );
  }
  return ended.size;
}
