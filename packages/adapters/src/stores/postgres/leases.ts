/**
 * Per-call ownership leases, so that of several bot instances exactly one runs a call's
 * timers and sends its commands. A lease has an owner and an expiry; the owner renews it
 * before it lapses; once it lapses anyone may take it over. Every time is the database's
 * (`now()`), so instances whose clocks disagree still agree on who holds a lease. The port,
 * `CallLeases`, is core's; this is its PostgreSQL side.
 */
import { SwitchboardError, type Lease } from '@switchboard/core';

export interface LeaseRow {
  readonly stream_id: string;
  readonly owner: string;
  readonly token: string;
  readonly acquired_at: Date;
  readonly expires_at: Date;
  readonly remaining_ms: number;
}

const RETURNING = `stream_id, owner, token, acquired_at, expires_at,
  (extract(epoch FROM (expires_at - now())) * 1000)::float8 AS remaining_ms`;

/** The SQL of the lease operations, for one schema. Parameters: $1 stream, $2 owner, $3 ttl ms. */
export function leaseSql(schema: string) {
  const t = `${schema}.leases`;
  const held = 'l.owner = excluded.owner AND l.expires_at > now()';
  return {
    // Insert, or take over a lapsed lease, or extend our own; a live lease of another owner
    // is left alone (the WHERE fails and nothing is returned).
    acquire: `
      INSERT INTO ${t} AS l (stream_id, owner, token, acquired_at, renewed_at, expires_at)
      VALUES ($1, $2, 1, now(), now(), now() + $3::float8 * interval '1 millisecond')
      ON CONFLICT (stream_id) DO UPDATE SET
        owner       = excluded.owner,
        token       = CASE WHEN ${held} THEN l.token ELSE l.token + 1 END,
        acquired_at = CASE WHEN ${held} THEN l.acquired_at ELSE now() END,
        renewed_at  = now(),
        expires_at  = excluded.expires_at
      WHERE l.owner = excluded.owner OR l.expires_at <= now()
      RETURNING ${RETURNING}`,
    renew: `
      UPDATE ${t} SET renewed_at = now(), expires_at = now() + $3::float8 * interval '1 millisecond'
       WHERE stream_id = $1 AND owner = $2 AND expires_at > now()
      RETURNING ${RETURNING}`,
    // The row stays (expired), so the fencing token keeps growing across owners.
    release: `
      UPDATE ${t} SET expires_at = now()
       WHERE stream_id = $1 AND owner = $2 AND expires_at > now()
      RETURNING stream_id`,
    get: `SELECT ${RETURNING} FROM ${t} WHERE stream_id = $1 AND expires_at > now()`,
    // An ended call's lease expires at -infinity: lapsed for acquire, and no sweep lists it.
    end: `
      UPDATE ${t} SET expires_at = '-infinity'
       WHERE stream_id = $1 AND owner = $2 AND expires_at > '-infinity'
      RETURNING stream_id`,
    // $1 owner, $2 ms a never-leased stream must be old, $3 the stream that is not a call.
    // The leases not ended (index leases_unended) that lapsed, were released or are the owner's
    // own; and the live streams (the live index) older than a lease that nobody ever leased.
    // A stream whose call ended needs nobody to take it over. (A stream written by an instance
    // on schema version 3 has no ended_at, and is looked at as before.)
    claimable: `
      SELECT stream_id FROM ${t}
       WHERE NOT ended AND (expires_at <= now() OR owner = $1)
      UNION ALL
      SELECT s.stream_id FROM ${schema}.streams s
       WHERE s.ended_at IS NULL AND s.version > 0 AND s.stream_id <> $3
         AND s.created_at < now() - $2::float8 * interval '1 millisecond'
         AND NOT EXISTS (SELECT 1 FROM ${t} l WHERE l.stream_id = s.stream_id)`,
  };
}

export function toLease(row: LeaseRow): Lease {
  return {
    streamId: row.stream_id,
    owner: row.owner,
    token: Number(row.token),
    acquiredAt: row.acquired_at,
    expiresAt: row.expires_at,
    remainingMs: Math.max(0, row.remaining_ms),
  };
}

/** Owners are instance ids: non-empty strings of up to 256 characters. */
export function checkOwner(owner: string): void {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 256 || owner.includes('\u0000')) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'a lease owner must be a non-empty string of up to 256 characters');
  }
}

/** A lease lasts a positive, finite number of milliseconds. */
export function checkTtl(ttlMs: number): void {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `a lease ttlMs must be a positive number of milliseconds, got ${String(ttlMs)}`);
  }
}
