import type { IncomingMessage } from 'node:http';

/**
 * Reading a webhook body within its limits: at most so many bytes, by a deadline fixed when the
 * request arrived, from a Fetch `Request` stream or a node:http request alike. Nothing here
 * answers; the receiver turns what a read returns into an answer.
 */

/** The body's bytes, or why there are none: over the limit, too slow, or the sender went away. */
export type BodyRead = Buffer | 'too-large' | 'timeout' | 'aborted';

/** A request body, read at most once, by a deadline fixed when the request arrived. */
export interface BodySource {
  /** Reads the whole body, stopping once it is past `limit` bytes or the deadline passed. */
  read(limit: number): Promise<BodyRead>;
}

/** A declared Content-Length, or NaN when there is none (chunked) or it is not one number. */
export function declaredLength(header: string | null): number {
  return header !== null && /^\d+$/.test(header.trim()) ? Number(header) : Number.NaN;
}

type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

/**
 * A Fetch request's body, read by a deadline. A read still pending at the deadline is kept for
 * the next call, so `discard` can go on where `read` stopped.
 */
export class StreamBody implements BodySource {
  readonly #stream: ReadableStream<Uint8Array> | null;
  readonly #deadline: number;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #pending: Promise<ReadResult | 'error'> | undefined;
  #ended: boolean;
  /** Bytes read so far. */
  #size = 0;

  constructor(stream: ReadableStream<Uint8Array> | null, deadline: number) {
    this.#stream = stream;
    this.#deadline = deadline;
    this.#ended = stream === null;
  }

  async read(limit: number): Promise<BodyRead> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const next = await this.#next();
      if (next === 'timeout') return 'timeout';
      if (next === 'error') return 'aborted';
      if (next.done) return Buffer.concat(chunks);
      size += next.value.byteLength;
      this.#size += next.value.byteLength;
      if (size > limit) return 'too-large';
      chunks.push(next.value);
    }
  }

  /**
   * Reads and throws away the rest, at most `max` more bytes, by the deadline; nothing when the
   * declared length says more than `max` are still to come. True when the body ended.
   */
  async discard(max: number, declared: number): Promise<boolean> {
    if (this.#ended) return true;
    if (declared - this.#size > max) return false;
    let thrown = 0;
    while (!this.#ended) {
      const next = await this.#next();
      if (next === 'timeout' || next === 'error') return false;
      if (next.done) return true;
      thrown += next.value.byteLength;
      if (thrown > max) return false;
    }
    return true;
  }

  /** Lets go of a body nobody will read: cancelled after `ms`, once the answer is on its way. */
  abandon(ms: number): void {
    const reader = this.#reader;
    if (this.#ended || !reader) return;
    setTimeout(() => void reader.cancel().catch(() => {}), ms).unref();
  }

  async #next(): Promise<ReadResult | 'error' | 'timeout'> {
    if (this.#ended || !this.#stream) return { done: true, value: undefined };
    this.#reader ??= this.#stream.getReader();
    const pending = (this.#pending ??= this.#reader.read().then(
      (result) => {
        this.#pending = undefined;
        if (result.done) this.#ended = true;
        return result;
      },
      () => {
        this.#pending = undefined;
        this.#ended = true;
        return 'error' as const;
      },
    ));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, this.#deadline - performance.now()));
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A node:http request's body as a {@link BodySource} read by `deadline` (`performance.now()` ms). */
export function nodeBody(req: IncomingMessage, deadline: number): BodySource {
  return { read: (limit) => readNode(req, limit, deadline) };
}

function readNode(req: IncomingMessage, limit: number, deadline: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyRead) => {
      cleanup();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        done('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => done(Buffer.concat(chunks));
    // the sender reset the connection or closed it before the body ended
    const onAbort = () => done('aborted');
    const onClose = () => {
      if (!req.complete) done('aborted');
    };
    const timer = setTimeout(
      () => {
        req.pause();
        done('timeout');
      },
      Math.max(0, deadline - performance.now()),
    );
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('aborted', onAbort);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('aborted', onAbort);
    req.on('close', onClose);
  });
}
