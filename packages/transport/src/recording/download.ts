import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request, type Dispatcher } from 'undici';
import { SwitchboardError, silentLogger, type Logger } from '@switchboard/core';

/**
 * Downloading what a `record` operation recorded. Graph's `recordOperation` ends with
 * `recordingLocation` (where the recording is) and `recordingAccessToken` ("the access token
 * required to retrieve the recording"), sent as a bearer token to that location:
 * https://learn.microsoft.com/en-us/graph/api/resources/recordoperation
 *
 * The token is a credential: it goes in the Authorization header to the location's host and
 * nowhere else (not to a host a redirect points at, not into a message, a log line or an
 * error), and a URL's query (a redirect's signed URL) is never logged either.
 */

/** The codes a {@link RecordingError} carries (see docs/errors.md). */
export type RecordingErrorCode =
  | 'SWB_RECORDING_UNAUTHORIZED'
  | 'SWB_RECORDING_NOT_FOUND'
  | 'SWB_RECORDING_HTTP'
  | 'SWB_RECORDING_TOO_LARGE'
  | 'SWB_RECORDING_TIMEOUT'
  | 'SWB_RECORDING_ABORTED'
  | 'SWB_RECORDING_NETWORK'
  | 'SWB_RECORDING_REDIRECT'
  | 'SWB_RECORDING_WRITE';

/** A recording download failed: `code` says how; `host` is where it was going (never the token or a query). */
export class RecordingError extends SwitchboardError {
  override readonly code: RecordingErrorCode;
  /** The host (and port) of the URL the failure concerns. */
  readonly host: string;
  /** The HTTP status, when the location answered. */
  readonly status: number | undefined;
  /** Bytes received before the failure. */
  readonly bytes: number;

  constructor(
    code: RecordingErrorCode,
    message: string,
    details: { readonly host: string; readonly status?: number; readonly bytes?: number; readonly cause?: unknown },
  ) {
    super(code, message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'RecordingError';
    this.code = code;
    this.host = details.host;
    this.status = details.status;
    this.bytes = details.bytes ?? 0;
  }
}

/** The limits {@link openRecording} and {@link downloadRecording} use for every option not given. */
export const RECORDING_DOWNLOAD_DEFAULTS = Object.freeze({
  /**
   * Largest recording accepted. A `recordResponse` lasts at most 120 s
   * (`maxRecordDurationInSeconds`); 64 MiB leaves room for any audio encoding of that.
   */
  maxBytes: 64 * 1024 * 1024,
  /** The whole download, redirects and body included. */
  timeoutMs: 60_000,
  /** Redirects followed before giving up. */
  maxRedirects: 5,
});

/** Where the recording is and the token for it: a completed `recordOperation`'s two properties. */
export interface RecordingSource {
  /** `recordingLocation`: https, or plain http on a loopback host (the simulator). */
  readonly location: string;
  /** `recordingAccessToken`: sent as `Authorization: Bearer ...` to the location's host only. */
  readonly accessToken: string;
}

/** Options of {@link openRecording} and {@link downloadRecording}. */
export interface RecordingDownloadOptions {
  /** Default `RECORDING_DOWNLOAD_DEFAULTS.maxBytes`: a larger recording fails `SWB_RECORDING_TOO_LARGE`. */
  readonly maxBytes?: number;
  /** Default `RECORDING_DOWNLOAD_DEFAULTS.timeoutMs`, for the whole download: `SWB_RECORDING_TIMEOUT`. */
  readonly timeoutMs?: number;
  /** Ends the download: `SWB_RECORDING_ABORTED`. */
  readonly signal?: AbortSignal;
  /** Default `RECORDING_DOWNLOAD_DEFAULTS.maxRedirects`. */
  readonly maxRedirects?: number;
  /** The undici dispatcher (default undici's global one). */
  readonly dispatcher?: Dispatcher;
  /** Debug lines only: host, status, size, time (never the token or a query string). */
  readonly logger?: Logger;
}

/** An open recording: its body as a stream (limits still applied as it flows) and what the headers said. */
export interface RecordingStream {
  /**
   * The bytes. It errors with a {@link RecordingError} when the size limit, the timeout or the
   * signal ends it, or the connection fails. Destroy it to stop early.
   */
  readonly body: Readable;
  readonly contentType: string | undefined;
  /** `Content-Length`, when the location sent one. */
  readonly contentLength: number | undefined;
}

/** What {@link downloadRecording} wrote. */
export interface RecordingDownload {
  readonly bytes: number;
  readonly contentType: string | undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function isLoopback(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]' || hostname === '::1';
}

/** A URL fit to fetch a recording from: https, or plain http on loopback. */
function allowed(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
}

/** The URL as a log line or message may show it: no query, no fragment, no credentials. */
function shown(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function invalid(message: string): SwitchboardError {
  return new SwitchboardError('SWB_INVALID_ARGUMENT', message);
}

/** The code of an error or its causes (undici wraps connect errors). */
function networkCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '' && !code.startsWith('UND_ERR_ABORTED')) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Opens the recording at `source.location` with its access token. Resolves once the location
 * answered 2xx (after redirects), with the body as a stream the limits keep applying to;
 * rejects with a {@link RecordingError}: `SWB_RECORDING_UNAUTHORIZED` (401/403: a wrong or
 * expired token), `SWB_RECORDING_NOT_FOUND` (404/410), `SWB_RECORDING_HTTP`,
 * `SWB_RECORDING_TOO_LARGE` (a `Content-Length` over `maxBytes`), `SWB_RECORDING_TIMEOUT`,
 * `SWB_RECORDING_ABORTED`, `SWB_RECORDING_NETWORK`, `SWB_RECORDING_REDIRECT`; bad arguments
 * throw `SWB_INVALID_ARGUMENT` before anything is sent.
 *
 * Redirects (301, 302, 303, 307, 308) are followed up to `maxRedirects`: to the same origin
 * with the token, to another origin without it (a signed URL carries its own authorization),
 * and never to plain http off loopback.
 */
export async function openRecording(source: RecordingSource, options: RecordingDownloadOptions = {}): Promise<RecordingStream> {
  const { location, accessToken } = source ?? ({} as RecordingSource);
  if (typeof location !== 'string' || location === '') throw invalid('openRecording: location (recordingLocation) is required');
  if (typeof accessToken !== 'string' || accessToken === '' || /[\r\n]/.test(accessToken))
    throw invalid('openRecording: accessToken (recordingAccessToken) is required, one line');
  let url: URL;
  try {
    url = new URL(location);
  } catch (error) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'openRecording: location is not a URL', { cause: error });
  }
  if (!allowed(url)) throw invalid(`openRecording: ${url.protocol}//${url.host} must be https (plain http only on loopback)`);
  const maxBytes = options.maxBytes ?? RECORDING_DOWNLOAD_DEFAULTS.maxBytes;
  const timeoutMs = options.timeoutMs ?? RECORDING_DOWNLOAD_DEFAULTS.timeoutMs;
  const maxRedirects = options.maxRedirects ?? RECORDING_DOWNLOAD_DEFAULTS.maxRedirects;
  if (!(maxBytes > 0)) throw invalid(`openRecording: maxBytes must be positive, got ${String(options.maxBytes)}`);
  if (!(timeoutMs > 0)) throw invalid(`openRecording: timeoutMs must be positive, got ${String(options.timeoutMs)}`);
  if (!(maxRedirects >= 0)) throw invalid(`openRecording: maxRedirects must be >= 0, got ${String(options.maxRedirects)}`);
  const log = options.logger ?? silentLogger;
  const signal = options.signal;
  const startedAt = Date.now();

  // one controller for the whole download: the timeout and the caller's signal end it
  const controller = new AbortController();
  let why: 'timeout' | 'aborted' | undefined;
  const timer = setTimeout(() => {
    why ??= 'timeout';
    controller.abort(new Error(`recording download timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = (): void => {
    why ??= 'aborted';
    controller.abort(signal?.reason);
  };
  const cleanup = (): void => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  if (signal?.aborted) {
    cleanup();
    throw new RecordingError('SWB_RECORDING_ABORTED', `recording download from ${url.host} aborted before it started`, {
      host: url.host,
      cause: signal.reason,
    });
  }
  signal?.addEventListener('abort', onAbort, { once: true });

  /** The error for a failure at `at`, by what ended it. */
  const failure = (at: URL, error: unknown, bytes: number): RecordingError => {
    if (error instanceof RecordingError) return error;
    if (why === 'timeout')
      return new RecordingError(
        'SWB_RECORDING_TIMEOUT',
        `recording download from ${at.host} ran past ${timeoutMs} ms (${bytes} bytes received)`,
        {
          host: at.host,
          bytes,
          cause: error,
        },
      );
    if (why === 'aborted')
      return new RecordingError('SWB_RECORDING_ABORTED', `recording download from ${at.host} aborted (${bytes} bytes received)`, {
        host: at.host,
        bytes,
        cause: signal?.reason ?? error,
      });
    const code = networkCode(error);
    return new RecordingError(
      'SWB_RECORDING_NETWORK',
      `recording download from ${at.host} failed: ${code ?? 'network error'}${bytes > 0 ? ` after ${bytes} bytes` : ''}`,
      { host: at.host, bytes, cause: error },
    );
  };

  let current = url;
  let withToken = true;
  try {
    for (let redirects = 0; ; redirects++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(current, {
          method: 'GET',
          headers: {
            accept: '*/*',
            'user-agent': 'switchboard-transport',
            ...(withToken ? { authorization: `Bearer ${accessToken}` } : {}),
          },
          signal: controller.signal,
          ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        });
      } catch (error) {
        throw failure(current, error, 0);
      }
      const status = res.statusCode;
      if (REDIRECTS.has(status)) {
        discard(res.body);
        const to = res.headers['location'];
        const target = Array.isArray(to) ? to[0] : to;
        if (target === undefined || target === '')
          throw new RecordingError('SWB_RECORDING_REDIRECT', `${current.host} answered ${status} without a Location`, {
            host: current.host,
            status,
          });
        if (redirects >= maxRedirects)
          throw new RecordingError('SWB_RECORDING_REDIRECT', `more than ${maxRedirects} redirects from ${url.host}`, {
            host: current.host,
            status,
          });
        let next: URL;
        try {
          next = new URL(target, current);
        } catch (error) {
          throw new RecordingError('SWB_RECORDING_REDIRECT', `${current.host} redirected to something that is not a URL`, {
            host: current.host,
            status,
            cause: error,
          });
        }
        if (!allowed(next))
          throw new RecordingError(
            'SWB_RECORDING_REDIRECT',
            `${current.host} redirected to ${next.protocol}//${next.host}: refused (https only, plain http only on loopback)`,
            { host: next.host, status },
          );
        if (next.origin !== current.origin && withToken) {
          // the token is for the recording's own host; a signed URL elsewhere carries its own authorization
          withToken = false;
          log.debug(
            { from: current.host, to: next.host, status },
            'recording redirected to another origin: the access token is not sent there',
          );
        }
        current = next;
        continue;
      }
      if (status < 200 || status >= 300) {
        discard(res.body);
        const code =
          status === 401 || status === 403
            ? 'SWB_RECORDING_UNAUTHORIZED'
            : status === 404 || status === 410
              ? 'SWB_RECORDING_NOT_FOUND'
              : 'SWB_RECORDING_HTTP';
        const reason =
          code === 'SWB_RECORDING_UNAUTHORIZED'
            ? withToken
              ? ': the recording access token is wrong or has expired'
              : ' (after a redirect to another origin, where the token is not sent)'
            : '';
        throw new RecordingError(code, `${shown(current)} answered ${status}${reason}`, { host: current.host, status });
      }
      const lengthHeader = res.headers['content-length'];
      const contentLength = typeof lengthHeader === 'string' && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
      if (contentLength !== undefined && contentLength > maxBytes) {
        discard(res.body);
        throw new RecordingError(
          'SWB_RECORDING_TOO_LARGE',
          `the recording at ${current.host} is ${contentLength} bytes, over maxBytes ${maxBytes}`,
          {
            host: current.host,
            status,
          },
        );
      }
      const typeHeader = res.headers['content-type'];
      const contentType = Array.isArray(typeHeader) ? typeHeader[0] : typeHeader;
      const body = guarded(res.body, {
        maxBytes,
        host: current.host,
        failure: (error, bytes) => failure(current, error, bytes),
        done: (bytes, outcome) => {
          cleanup();
          const elapsedMs = Date.now() - startedAt;
          if (outcome === 'complete') log.debug({ host: current.host, status, bytes, redirects, elapsedMs }, 'recording downloaded');
          else if (outcome === 'stopped') log.debug({ host: current.host, bytes, elapsedMs }, 'recording download stopped by its reader');
          else log.debug({ host: current.host, code: outcome.code, bytes, elapsedMs }, 'recording download failed');
        },
      });
      return { body, contentType, contentLength };
    }
  } catch (error) {
    cleanup();
    const e = error instanceof RecordingError ? error : failure(current, error, 0);
    log.debug({ host: e.host, code: e.code, status: e.status, elapsedMs: Date.now() - startedAt }, 'recording download failed');
    throw e;
  }
}

/** Drops a response body unread (undici's body errors when destroyed: nobody is listening for that). */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** The response body, counted against `maxBytes`, its errors turned into {@link RecordingError}s. */
function guarded(
  source: Readable,
  o: {
    readonly maxBytes: number;
    readonly host: string;
    readonly failure: (error: unknown, bytes: number) => RecordingError;
    /** Once: the body ended (`complete`), its reader destroyed it (`stopped`), or it failed. */
    readonly done: (bytes: number, outcome: 'complete' | 'stopped' | RecordingError) => void;
  },
): Readable {
  let bytes = 0;
  let finished = false;
  const finish = (outcome: 'complete' | 'stopped' | RecordingError): void => {
    if (finished) return;
    finished = true;
    o.done(bytes, outcome);
  };
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > o.maxBytes) {
        const error = new RecordingError('SWB_RECORDING_TOO_LARGE', `the recording at ${o.host} passed maxBytes ${o.maxBytes}`, {
          host: o.host,
          bytes,
        });
        finish(error);
        callback(error);
        return;
      }
      callback(null, chunk);
    },
    flush(callback) {
      finish('complete');
      callback();
    },
  });
  source.on('error', (error) => {
    const e = o.failure(error, bytes);
    finish(e);
    out.destroy(e);
  });
  out.on('close', () => {
    // the reader stopped early, or the limit ended it: let the connection go
    if (!source.destroyed) source.destroy();
    finish('stopped');
  });
  source.pipe(out);
  return out;
}

/**
 * Downloads the recording into `to`: a file path (written beside it as a temporary file and
 * renamed once complete, so the path never holds part of a recording; removed on failure) or
 * a writable stream (ended when the recording is). Resolves with the size; rejects with a
 * {@link RecordingError} as {@link openRecording} does, or `SWB_RECORDING_WRITE` when the
 * destination fails.
 *
 * @example
 * ```ts
 * const op = await call.record({ maxRecordDurationInSeconds: 10 });
 * const done = await op.completed;
 * await downloadRecording(
 *   { location: done.recordingLocation!, accessToken: done.recordingAccessToken! },
 *   `recordings/${op.id}.wav`,
 * );
 * ```
 */
export async function downloadRecording(
  source: RecordingSource,
  to: string | Writable,
  options: RecordingDownloadOptions = {},
): Promise<RecordingDownload> {
  if (typeof to !== 'string' && (typeof to !== 'object' || to === null || typeof (to as Writable).write !== 'function'))
    throw invalid('downloadRecording: `to` must be a file path or a writable stream');
  if (to === '') throw invalid('downloadRecording: `to` must be a file path or a writable stream');
  const open = await openRecording(source, options);
  let bytes = 0;
  open.body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  const writeFailed = (error: unknown): RecordingError =>
    new RecordingError('SWB_RECORDING_WRITE', `the recording could not be written: ${(error as Error)?.message ?? String(error)}`, {
      host: new URL(source.location).host,
      bytes,
      cause: error,
    });
  if (typeof to !== 'string') {
    try {
      await pipeline(open.body, to);
    } catch (error) {
      throw error instanceof RecordingError ? error : writeFailed(error);
    }
    return { bytes, contentType: open.contentType };
  }
  const part = join(dirname(to), `.${basename(to)}.${randomBytes(6).toString('hex')}.part`);
  try {
    await pipeline(open.body, createWriteStream(part, { flags: 'wx' }));
    await rename(part, to);
  } catch (error) {
    open.body.destroy();
    await unlink(part).catch(() => undefined);
    throw error instanceof RecordingError ? error : writeFailed(error);
  }
  return { bytes, contentType: open.contentType };
}
