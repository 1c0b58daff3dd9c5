import { DecodeError, SwitchboardError } from '../errors/errors.js';
import { ENTRY_KINDS, TIMER_NAMES, type LogEntry } from '../log/entries.js';
import { DECODE_LIMITS } from '../decode/decode.js';

// quarantined entries are the decoder's to write, never `record`'s
const KINDS: ReadonlySet<string> = new Set(ENTRY_KINDS.filter((kind) => kind !== 'quarantined'));
const TIMERS: ReadonlySet<string> = new Set(TIMER_NAMES);
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Validates an entry handed to `record` (commands, results, resyncs, timers come from the
 * runtime, but their bodies come from Graph): the shape, and no prototype-polluting keys or
 * runaway nesting in the JSON it carries.
 */
export function checkEntry(entry: LogEntry): void {
  if (typeof entry !== 'object' || entry === null || !KINDS.has((entry as { kind?: string }).kind ?? '')) {
    throw new SwitchboardError('SWB_INVALID_ENTRY', `entry.kind must be one of ${[...KINDS].join(', ')}`);
  }
  if (typeof entry.id !== 'string' || entry.id.length === 0) {
    throw new SwitchboardError('SWB_INVALID_ENTRY', 'entry.id must be a non-empty string');
  }
  if (typeof entry.at !== 'number' || !Number.isFinite(entry.at)) {
    throw new SwitchboardError('SWB_INVALID_ENTRY', 'entry.at must be a finite number (ms)');
  }
  switch (entry.kind) {
    case 'command':
      if (typeof entry.command !== 'string') throw new SwitchboardError('SWB_INVALID_ENTRY', 'command entry needs a command name');
      scan(entry.args, '$.args', 0);
      return;
    case 'commandResult':
      if (typeof entry.commandId !== 'string' || typeof entry.command !== 'string') {
        throw new SwitchboardError('SWB_INVALID_ENTRY', 'commandResult entry needs commandId and command');
      }
      if (!['succeeded', 'failed', 'ambiguous'].includes(entry.outcome)) {
        throw new SwitchboardError('SWB_INVALID_ENTRY', 'commandResult.outcome must be succeeded, failed or ambiguous');
      }
      scan(entry.body, '$.body', 0);
      return;
    case 'resync':
      if (entry.call !== null && (typeof entry.call !== 'object' || Array.isArray(entry.call))) {
        throw new SwitchboardError('SWB_INVALID_ENTRY', 'resync.call must be the call object, or null when Graph answered 404');
      }
      if (entry.participants !== undefined && !Array.isArray(entry.participants)) {
        throw new SwitchboardError('SWB_INVALID_ENTRY', 'resync.participants must be an array');
      }
      scan(entry.call, '$.call', 0);
      scan(entry.participants, '$.participants', 0);
      return;
    case 'timer':
      if (!TIMERS.has(entry.timer)) throw new SwitchboardError('SWB_INVALID_ENTRY', `timer must be one of ${[...TIMERS].join(', ')}`);
      return;
    case 'notification':
      throw new SwitchboardError('SWB_INVALID_ENTRY', 'notifications enter through ingest(), which decodes them');
  }
}

function scan(value: unknown, path: string, depth: number): void {
  if (typeof value !== 'object' || value === null) return;
  if (depth > DECODE_LIMITS.maxDepth) throw new DecodeError('too-deep', path, `nested deeper than ${DECODE_LIMITS.maxDepth} levels`);
  if (Array.isArray(value)) {
    value.forEach((v, i) => scan(v, `${path}[${i}]`, depth + 1));
    return;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN.has(key)) throw new DecodeError('forbidden-key', `${path}.${key}`, `the key '${key}' is not allowed`);
    scan((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
  }
}
