import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { redact } from '@switchboard/core/replay';

/** One exchange-log line, in the format `switchboard replay` reads. */
export interface ExchangeLine {
  readonly kind: 'request' | 'response' | 'notification';
  readonly method: string | null;
  readonly path: string | null;
  readonly status: number | null;
  readonly body: unknown;
  readonly receivedAt: number;
}

/** Where the runtime writes every exchange it sees. */
export interface Recorder {
  write(line: ExchangeLine): void;
}

/**
 * A recorder appending JSON lines to a file (directories created). Writes are synchronous so
 * that a line is on disk before the exchange is acknowledged; bodies are redacted.
 */
export function createFileRecorder(path: string): Recorder {
  mkdirSync(dirname(path), { recursive: true });
  return {
    write(line) {
      appendFileSync(path, `${JSON.stringify({ ...line, body: redact(line.body) })}\n`);
    },
  };
}

/** Writes the runtime's exchanges to its recorder, if it has one; a write that fails is reported, never thrown. */
export class Exchanges {
  readonly #recorder: Recorder | undefined;
  readonly #clock: () => number;
  readonly #fail: (error: unknown) => void;

  constructor(recorder: Recorder | undefined, clock: () => number, fail: (error: unknown) => void) {
    this.#recorder = recorder;
    this.#clock = clock;
    this.#fail = fail;
  }

  /** Whether there is a recorder (so a caller can skip preparing a line nobody writes). */
  get recording(): boolean {
    return this.#recorder !== undefined;
  }

  write(
    kind: ExchangeLine['kind'],
    method: string | null,
    path: string | null,
    status: number | null,
    body: unknown,
    at = this.#clock(),
  ): void {
    if (!this.#recorder) return;
    try {
      this.#recorder.write({ kind, method, path, status, body: body ?? null, receivedAt: at });
    } catch (error) {
      this.#fail(error);
    }
  }

  /** A delivery's body as the recording shows it: parsed JSON, or its first characters when it is not JSON. */
  notification(body: unknown, receivedAt: number): void {
    if (!this.#recorder) return;
    this.write('notification', 'POST', null, null, parseForRecord(body), receivedAt);
  }
}

function parseForRecord(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return { unparsed: body.slice(0, 256) };
  }
}
