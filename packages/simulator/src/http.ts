import type { IncomingMessage, ServerResponse } from 'node:http';

/** Small node:http helpers shared by the server's routes. */

/** A Graph API failure, answered with Graph's error body. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: { readonly [name: string]: string } = {},
  ) {
    super(message);
    this.name = 'GraphError';
  }
}

export function badRequest(message: string): GraphError {
  return new GraphError(400, 'BadRequest', message);
}

export function notFound(message: string): GraphError {
  return new GraphError(404, 'itemNotFound', message);
}

/** Graph's error body: `{ error: { code, message, innerError: { date, request-id, client-request-id } } }`. */
export function graphErrorBody(code: string, message: string, requestId: string, clientRequestId: string): Record<string, unknown> {
  return {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().replace(/\.\d+Z$/, ''),
        'request-id': requestId,
        'client-request-id': clientRequestId,
      },
    },
  };
}

export class BodyTooLargeError extends Error {}

/** Reads a request body up to `limit` bytes. */
export function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError(`request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Parses a JSON body; an empty body is `{}` (action endpoints may take none). */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
  }
}

export function send(res: ServerResponse, status: number, body: unknown, headers: { readonly [name: string]: string } = {}): void {
  if (res.headersSent || res.destroyed) return;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (body === undefined) {
    res.statusCode = status;
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
