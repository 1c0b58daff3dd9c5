/**
 * Archived calls as exchange-log lines. The store's archive moves calls that ended long ago
 * out of the store into exchange logs; each line carries the stored entry itself under
 * `entry`, beside the request, response or notification it records, so that `replay` (which
 * takes a line's `entry` as it is) gives the call exactly the view the store gave it.
 */
import type { LogEntry, StoredEntry } from '../log/entries.js';
import type { ExchangeRecord } from './exchange.js';

/**
 * One archived entry as an exchange-log line: a notification as the POST that carried it, a
 * command as its request, a command result as its response, and the other records (resyncs,
 * timers, quarantined notifications) as a request without a method. The entry itself, without
 * its store position, is the line's `entry`. Pure.
 */
export function archiveRecordOf(entry: LogEntry | StoredEntry): ExchangeRecord {
  const { position: _position, ...kept } = entry as StoredEntry;
  const logged = kept as LogEntry;
  const receivedAt = logged.at;
  switch (logged.kind) {
    case 'notification':
      return {
        kind: 'notification',
        method: 'POST',
        path: null,
        status: null,
        body: { value: [{ changeType: logged.changeType, resourceUrl: logged.resourceUrl, resourceData: logged.resourceData }] },
        receivedAt,
        entry: logged,
      };
    case 'command':
      return { kind: 'request', method: null, path: null, status: null, body: logged.args ?? null, receivedAt, entry: logged };
    case 'commandResult':
      return {
        kind: 'response',
        method: null,
        path: null,
        status: logged.status ?? null,
        body: logged.body ?? null,
        receivedAt,
        entry: logged,
      };
    default:
      return { kind: 'request', method: null, path: null, status: null, body: null, receivedAt, entry: logged };
  }
}
