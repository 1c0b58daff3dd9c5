import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

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

const SECRET_KEYS =
  /^(token|access_?token|recording_?access_?token|refresh_token|id_token|client_secret|clientsecret|secret|password|passcode|authorization|assertion|client_assertion|private_?key|blob)$/i;
// A whole JWT, or one cut off before its signature (a body recorded as its first characters):
// a base64url JSON header, a dot, and the start of a base64url JSON payload.
const JWT = /ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]*/g;

/**
 * Copies a JSON value with secrets replaced by "[redacted]": values under keys that name a
 * token, secret, password, passcode, key or media blob (a meeting's join token,
 * `tokenMeetingInfo.token`, and a record operation's `recordingAccessToken` among them), and anything shaped like a JWT wherever it is, inside
 * longer strings too (`Bearer ey...`, a URL's query), cut off before its signature too.
 */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('ey') ? value.replace(JWT, '[redacted]') : value;
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEYS.test(key) && v !== null && v !== undefined ? '[redacted]' : redact(v);
  }
  return out;
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
