import { request } from 'node:http';

export interface RawRequest {
  readonly method?: string;
  /** A list value sends the header once per item (two Authorization headers). */
  readonly headers?: Record<string, string | string[]>;
  /** The body, sent at once (Content-Length set) unless `chunks` is given. */
  readonly body?: string | Buffer;
  /** Sent one by one with `delayMs` between them, chunked (no Content-Length unless given in headers). */
  readonly chunks?: readonly (string | Buffer)[];
  readonly delayMs?: number;
  /** Destroy the socket after this many chunks were written (a client that goes away mid-body). */
  readonly abortAfterChunks?: number;
  /** Give up (status 'timeout') after this many ms. */
  readonly timeoutMs?: number;
}

export interface RawResponse {
  /** The HTTP status, `'reset'` when the connection closed without an answer, `'aborted'` when we hung up. */
  readonly status: number | 'reset' | 'aborted' | 'timeout';
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One request over a fresh loopback connection (no keep-alive pool), written the way a
 * hostile client would: slowly, chunked, lying about its length, or hanging up halfway.
 * Never rejects: a connection reset is an answer too.
 */
export function send(url: string, r: RawRequest): Promise<RawResponse> {
  const started = performance.now();
  return new Promise<RawResponse>((resolve) => {
    let settled = false;
    const done = (res: Omit<RawResponse, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...res, ms: performance.now() - started });
    };
    const headers: Record<string, string | string[]> = { ...r.headers };
    if (r.body !== undefined && r.chunks === undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
      headers['content-length'] = String(Buffer.byteLength(r.body));
    }
    const req = request(url, { method: r.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 'timeout', headers: {}, body: '' });
    }, r.timeoutMs ?? 20_000);
    req.on('error', () => done({ status: 'reset', headers: {}, body: '' }));
    if (r.chunks === undefined) {
      req.end(r.body);
      return;
    }
    void (async () => {
      let written = 0;
      for (const chunk of r.chunks!) {
        if (req.destroyed || settled) return;
        if (r.abortAfterChunks !== undefined && written >= r.abortAfterChunks) {
          req.destroy();
          done({ status: 'aborted', headers: {}, body: '' });
          return;
        }
        req.write(chunk);
        written += 1;
        if (r.delayMs) await sleep(r.delayMs);
      }
      if (!req.destroyed) req.end();
    })();
  });
}
