import { request, type Dispatcher } from 'undici';

/**
 * One HTTP attempt: a single request through undici, bounded by its own timeout and the
 * caller's signal, and how it ended. It never throws and never retries; what to do next is
 * the retry policy's question (`retry.ts`).
 */

/** Graph answered (any status). Header names are lower case, repeated headers keep the first. */
export interface AttemptResponse {
  readonly kind: 'response';
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Parsed JSON; `null` for an empty body; the text itself when it is not JSON. */
  readonly body: unknown;
}

/** No answer came. */
export interface AttemptFailure {
  readonly kind: 'failure';
  /** What ended the attempt: our attempt timeout, the caller's signal, or the network. */
  readonly reason: 'timeout' | 'aborted' | 'network';
  /**
   * False when the request provably never left: it was never handed to a connection
   * (undici calls the handler's `onConnect` just before writing), or the error is one
   * raised before a connection existed (ECONNREFUSED, DNS, connect timeout).
   */
  readonly sent: boolean;
  readonly error: unknown;
  readonly errorCode: string | undefined;
}

/** How one attempt ended. */
export type AttemptOutcome = AttemptResponse | AttemptFailure;

/** One request to send. */
export interface AttemptRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  /** This attempt's budget (at least 1 ms is allowed). */
  readonly timeoutMs: number;
  /** The caller's signal: aborting it ends the attempt with reason `aborted`. */
  readonly signal: AbortSignal | undefined;
}

/** Errors raised before a connection existed: Graph provably did not get the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Sends `req` once through `dispatcher`. Resolves with Graph's answer, or with the failure
 * classed by reason and by whether the request may have reached Graph.
 */
export async function attemptOnce(dispatcher: Dispatcher, req: AttemptRequest): Promise<AttemptOutcome> {
  const { signal, timeoutMs } = req;
  const controller = new AbortController();
  let why: 'timeout' | 'aborted' | undefined;
  const timer = setTimeout(
    () => {
      why ??= 'timeout';
      controller.abort(new Error(`attempt timed out after ${timeoutMs} ms`));
    },
    Math.max(1, timeoutMs),
  );
  const onAbort = (): void => {
    why ??= 'aborted';
    controller.abort(signal?.reason);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let written = false;
  // undici keeps an aborted request queued until its connection is up (then drops it
  // unwritten): an attempt aborted before that ends at once instead of waiting for the connect
  let giveUp = (): void => {};
  const unwritten = new Promise<never>((_, reject) => {
    giveUp = () => {
      if (!written) reject(controller.signal.reason);
    };
    controller.signal.addEventListener('abort', giveUp, { once: true });
  });
  try {
    const pending = request(req.url, {
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      dispatcher: observingDispatcher(dispatcher, controller.signal, () => (written = true)),
      signal: controller.signal,
    });
    pending.catch(() => undefined); // it may settle after this attempt gave up on it
    const res = await Promise.race([pending, unwritten]);
    const text = await res.body.text();
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      const value = Array.isArray(v) ? v[0] : v;
      if (value !== undefined) flat[k.toLowerCase()] = value;
    }
    return { kind: 'response', status: res.statusCode, headers: flat, body: parseBody(text) };
  } catch (error) {
    const code = errorCode(error);
    const sent = written && !(code !== undefined && NOT_SENT_CODES.has(code));
    return { kind: 'failure', reason: why ?? 'network', sent, error, errorCode: code };
  } finally {
    clearTimeout(timer);
    controller.signal.removeEventListener('abort', giveUp);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** A header or JSON value that is a non-empty string, else undefined. */
export function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The most telling `code` on an error or its causes: one that proves nothing was sent wins. */
function errorCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') {
      if (NOT_SENT_CODES.has(code)) return code;
      // undici wraps some connect errors; keep looking for a more specific one
      const inner = (e as { cause?: unknown }).cause;
      if (!inner) return code;
      const deeper = errorCode(inner);
      return deeper && NOT_SENT_CODES.has(deeper) ? deeper : code;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The dispatcher, watching for the moment a request is handed to a connection (the handler's
 * `onConnect`, or `onRequestStart` in undici's newer handler API, just before the first byte
 * is written). `written()` is called then, unless the attempt was already aborted (undici then
 * drops the request unwritten).
 */
function observingDispatcher(dispatcher: Dispatcher, signal: AbortSignal, written: () => void): Dispatcher {
  const hook = (target: object, name: 'onConnect' | 'onRequestStart') => {
    const original = (target as Record<string, unknown>)[name];
    if (typeof original !== 'function') return undefined;
    return (...args: unknown[]): unknown => {
      if (!signal.aborted) written();
      return (original as (...a: unknown[]) => unknown).apply(target, args);
    };
  };
  const dispatch = (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean =>
    dispatcher.dispatch(
      options,
      new Proxy(handler, {
        get(target, key) {
          if (key === 'onConnect' || key === 'onRequestStart') return hook(target, key);
          const value: unknown = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
    );
  return new Proxy(dispatcher, { get: (target, key) => (key === 'dispatch' ? dispatch : Reflect.get(target, key, target)) });
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
