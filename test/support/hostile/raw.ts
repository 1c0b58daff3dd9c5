import { connect, type Socket } from 'node:net';

/** How a raw request's body is sent after its head. */
export type RawBody =
  | { readonly kind: 'none' }
  /** All at once. */
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  /** One byte every `everyMs`, until the server closes or `untilMs` passes (a slow-loris sender). */
  | { readonly kind: 'trickle'; readonly everyMs: number }
  /** `total` bytes of spaces as fast as the connection takes them (64 KiB writes, honouring backpressure). */
  | { readonly kind: 'flood'; readonly total: number }
  /** The same in chunked transfer coding (64 KiB chunks, no declared length; send `transfer-encoding: chunked`). */
  | { readonly kind: 'chunked-flood'; readonly total: number };

export interface RawExchange {
  /** The answer's status, or null when no status line arrived. */
  readonly status: number | null;
  /** Everything the server sent, as text. */
  readonly response: string;
  /** How the connection ended: the server closed it (FIN), reset it, or we gave up at `untilMs`. */
  readonly closedBy: 'server-fin' | 'server-reset' | 'client';
  /** ms from the first byte written to the server's close (or our giving up). */
  readonly closedAfterMs: number;
  /** ms from the first byte written to the answer's first byte (null: none). */
  readonly answeredAfterMs: number | null;
  readonly bytesWritten: number;
  /** Our local port: the server sees it as the connection's remote port. */
  readonly localPort: number;
}

export interface RawRequestSpec {
  readonly port: number;
  readonly method: string;
  readonly path?: string;
  /** Header lines as pairs, so a name may repeat (two Authorization headers). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: RawBody;
  /** Give up (destroy the socket) after this many ms. */
  readonly untilMs: number;
}

/**
 * One HTTP/1.1 request written by hand over a fresh loopback connection, to see what the
 * server does with the connection itself: when it answers, whether and how it closes, while
 * the sender is still trickling or flooding its body. Never rejects.
 */
export function rawExchange(spec: RawRequestSpec): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket: Socket = connect(spec.port, '127.0.0.1');
    const received: Buffer[] = [];
    let started = 0;
    let answeredAt: number | null = null;
    let written = 0;
    let localPort = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let trickle: NodeJS.Timeout | undefined;
    const finish = (closedBy: RawExchange['closedBy']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(trickle);
      const response = Buffer.concat(received).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(response);
      resolve({
        status: match ? Number(match[1]) : null,
        response,
        closedBy,
        closedAfterMs: performance.now() - started,
        answeredAfterMs: answeredAt === null ? null : answeredAt - started,
        bytesWritten: written,
        localPort,
      });
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      answeredAt ??= performance.now();
      received.push(chunk);
    });
    socket.on('end', () => finish('server-fin'));
    socket.on('error', () => finish('server-reset'));
    socket.on('close', () => finish('server-fin'));
    socket.on('connect', () => {
      started = performance.now();
      localPort = socket.localPort ?? 0;
      timer = setTimeout(() => finish('client'), spec.untilMs);
      const head = [
        `${spec.method} ${spec.path ?? '/api/calls'} HTTP/1.1`,
        'host: 127.0.0.1',
        ...spec.headers.map(([k, v]) => `${k}: ${v}`),
        '',
        '',
      ].join('\r\n');
      socket.write(head);
      const body = spec.body;
      if (body.kind === 'bytes') {
        socket.write(body.bytes);
        written = body.bytes.length;
      } else if (body.kind === 'trickle') {
        trickle = setInterval(() => {
          if (settled || socket.destroyed || !socket.writable) return;
          socket.write(' ');
          written += 1;
        }, body.everyMs);
      } else if (body.kind === 'flood' || body.kind === 'chunked-flood') {
        const data = Buffer.alloc(64 * 1024, ' ');
        const chunk =
          body.kind === 'flood' ? data : Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
        const pump = () => {
          while (!settled && !socket.destroyed && socket.writable && written < body.total) {
            const piece = written + chunk.length <= body.total ? chunk : chunk.subarray(0, body.total - written);
            written += piece.length;
            if (!socket.write(piece)) {
              socket.once('drain', pump);
              return;
            }
          }
        };
        pump();
      }
    });
  });
}
