/**
 * Retention: calls that ended long ago move out of the store into exchange logs, one file per
 * day of their end (`YYYY-MM-DD.jsonl.gz`, or `.jsonl`), that `switchboard replay` reads as
 * they are. A batch at a time: the batch's calls are read, appended to their day's file (a
 * gzip member per batch), the file is flushed to disk (and its directory, for a new file),
 * and only then are the calls deleted from the store, in one transaction that checks each
 * is still at the version archived.
 *
 * Crash-safe and idempotent: before it appends, the archiver writes (durably) a journal of
 * the file, its size before the append and the calls. A run that finds a journal finishes
 * that batch first: if the store still holds any of its calls, their deletion never
 * committed, so the file is cut back to its size before the append; otherwise the deletion
 * committed and the file is kept. Either way each call ends up in the store or in exactly one
 * file, once.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SwitchboardError, type ArchivableStore, type EndedStream, type EventStore } from '@switchboard/core';
import { archiveRecordOf } from '@switchboard/core/replay';

/** A store the archive can work on: the event store port and `ArchivableStore` (SQLite, PostgreSQL). */
export type ArchiveSource = Pick<EventStore, 'readStream'> & ArchivableStore;

export interface ArchiveOptions {
  /** The directory of the archive's files (created if missing). */
  readonly dir: string;
  /** Archive the calls that ended more than this many days before `now`. */
  readonly olderThanDays: number;
  /** The time to count from (ms since the epoch). */
  readonly now: number;
  /** Calls per batch (one file append, one delete transaction). Default 200. */
  readonly batchSize?: number;
  /** Write new day files gzipped (`.jsonl.gz`). Default true. A day's file that exists keeps its form. */
  readonly gzip?: boolean;
  /** Checked before each batch: the run ends early (between batches) once it says true. */
  readonly stopped?: () => boolean;
  /** Told, before any batch, how the batch a stopped run left was finished (not when there was none). */
  readonly onRecovered?: (outcome: 'rolled back' | 'completed') => void;
  /** Told after each batch is archived and deleted. */
  readonly onBatch?: (batch: { readonly file: string; readonly calls: number }) => void;
  /**
   * Told after each step of a batch, and awaited: the journal is written, the calls are
   * appended to their file (and flushed), they are deleted from the store. For tracing, and
   * for tests that stop the archive inside a step.
   */
  readonly onStep?: (step: ArchiveStep, file: string) => void | Promise<void>;
}

/** The steps of a batch, in order. */
export type ArchiveStep = 'journaled' | 'appended' | 'deleted';

export interface ArchiveResult {
  /** Calls moved out of the store into files by this run. */
  readonly archived: number;
  /** The files appended to, by name. */
  readonly files: readonly string[];
  /** What the run found of an earlier run that was stopped mid-batch. */
  readonly recovered: 'nothing' | 'rolled back' | 'completed';
}

/** The journal of the batch in progress, in the archive's directory. */
export const ARCHIVE_JOURNAL = 'archive.journal';
/** Calls per batch unless told otherwise. */
export const DEFAULT_ARCHIVE_BATCH = 200;

const DAY_MS = 86_400_000;
/** Batches in a row the store refuses (a call moved after it was read) before the run gives up. */
const MAX_REFUSED = 10;

interface Journal {
  readonly file: string;
  readonly size: number;
  readonly calls: readonly { readonly streamId: string; readonly version: number }[];
}

/**
 * Moves the calls that ended more than `olderThanDays` ago out of the store into the
 * archive's day files, a batch at a time (see the module's comment), after finishing a batch
 * a stopped run left. Safe to run again at any time, and after a kill at any point.
 */
export async function archiveEndedCalls(store: ArchiveSource, options: ArchiveOptions): Promise<ArchiveResult> {
  const { dir, now } = options;
  if (!(options.olderThanDays >= 0)) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `olderThanDays must be a number >= 0, got ${String(options.olderThanDays)}`);
  }
  const batchSize = options.batchSize ?? DEFAULT_ARCHIVE_BATCH;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `batchSize must be a whole number >= 1, got ${String(options.batchSize)}`);
  }
  mkdirSync(dir, { recursive: true });
  const recovered = await recover(store, dir);
  if (recovered !== 'nothing') options.onRecovered?.(recovered);
  const cutoff = now - options.olderThanDays * DAY_MS;
  const files = new Set<string>();
  let archived = 0;
  let refused = 0;
  while (options.stopped?.() !== true) {
    const ended = await store.listEndedBefore(cutoff, batchSize);
    if (ended.length === 0) break;
    const byDay = new Map<string, EndedStream[]>();
    for (const call of ended) {
      const day = new Date(call.endedAt).toISOString().slice(0, 10);
      const list = byDay.get(day);
      if (list) list.push(call);
      else byDay.set(day, [call]);
    }
    for (const [day, calls] of byDay) {
      const lines: string[] = [];
      const read: { streamId: string; version: number }[] = [];
      for (const { streamId } of calls) {
        const entries = await store.readStream(streamId);
        if (entries.length === 0) continue;
        read.push({ streamId, version: entries[entries.length - 1]!.position });
        for (const entry of entries) lines.push(JSON.stringify(archiveRecordOf(entry)));
      }
      if (read.length === 0) continue;
      const file = dayFile(dir, day, options.gzip ?? true);
      const text = `${lines.join('\n')}\n`;
      const size = existsSync(file) ? statSync(file).size : 0;
      writeJournal(dir, { file: basename(file), size, calls: read });
      await options.onStep?.('journaled', basename(file));
      appendDurably(file, file.endsWith('.gz') ? gzipSync(text) : Buffer.from(text, 'utf8'), size === 0, dir);
      await options.onStep?.('appended', basename(file));
      if (await store.deleteStreams(read)) {
        await options.onStep?.('deleted', basename(file));
        archived += read.length;
        files.add(basename(file));
        refused = 0;
        options.onBatch?.({ file: basename(file), calls: read.length });
      } else {
        // a call moved since it was read (a late notification): undo, and read it again next time
        cutBack(join(dir, basename(file)), size, dir);
        if (++refused > MAX_REFUSED) {
          removeJournal(dir);
          throw new SwitchboardError(
            'SWB_ARCHIVE_REFUSED',
            `the store refused to delete ${MAX_REFUSED} batches in a row: their calls keep moving; run the archive again later`,
          );
        }
      }
      removeJournal(dir);
    }
    // let the store's other work (appends) through between batches
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { archived, files: [...files].sort(), recovered };
}

/** The day's file: the one that exists (plain or gzipped), else a new one in the form asked for. */
function dayFile(dir: string, day: string, gzip: boolean): string {
  const plain = join(dir, `${day}.jsonl`);
  const zipped = `${plain}.gz`;
  if (existsSync(zipped)) return zipped;
  if (existsSync(plain)) return plain;
  return gzip ? zipped : plain;
}

/** Finishes the batch a stopped run left: undoes its append, or keeps it, by whether its deletion committed. */
async function recover(store: ArchiveSource, dir: string): Promise<ArchiveResult['recovered']> {
  const path = join(dir, ARCHIVE_JOURNAL);
  if (!existsSync(path)) return 'nothing';
  let journal: Journal;
  try {
    journal = JSON.parse(readFileSync(path, 'utf8')) as Journal;
  } catch (error) {
    throw new SwitchboardError('SWB_ARCHIVE_JOURNAL', `the archive journal ${path} cannot be read: it was not written by this archive`, {
      cause: error,
    });
  }
  const present = await store.countStreams(journal.calls.map((c) => c.streamId));
  // the deletion is one transaction: any call still held means none was deleted
  const outcome = present > 0 ? 'rolled back' : 'completed';
  if (present > 0) cutBack(join(dir, basename(journal.file)), journal.size, dir);
  removeJournal(dir);
  return outcome;
}

/** Cuts a file back to `size` (removing it when that is 0), durably. */
function cutBack(file: string, size: number, dir: string): void {
  if (!existsSync(file)) return;
  if (size === 0) {
    unlinkSync(file);
    syncDir(dir);
    return;
  }
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, size);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeJournal(dir: string, journal: Journal): void {
  const path = join(dir, ARCHIVE_JOURNAL);
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeAll(fd, Buffer.from(JSON.stringify(journal), 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncDir(dir);
}

function removeJournal(dir: string): void {
  const path = join(dir, ARCHIVE_JOURNAL);
  if (existsSync(path)) unlinkSync(path);
  syncDir(dir);
}

/** Appends and flushes the file to disk; a new file's directory entry too. */
function appendDurably(file: string, bytes: Buffer, created: boolean, dir: string): void {
  const fd = openSync(file, 'a');
  try {
    writeAll(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) syncDir(dir);
}

function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
