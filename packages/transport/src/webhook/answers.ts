import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What the receiver answers, and how an answer goes out while the body is still arriving.
 * Answers to refused requests are RFC 9457 problem documents that repeat at most a bounded
 * prefix of what the sender sent.
 */

/** An answer, before it is written to a Fetch `Response` or a node `ServerResponse`. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** After an answer given when the body's time was already up (408), the sender still gets this long to read it before the connection closes. */
export const ANSWER_GRACE_MS = 500;

/** The most characters of a sender's own input an answer repeats from a header or a token. */
const ECHO_LIMIT = 120;
/** The most characters of an error message (which may quote the body) an answer or a log line repeats. */
export const MESSAGE_LIMIT = 480;

/** A problem document: `type` is `urn:switchboard:webhook:<type>`; `extra` adds members (a JSON `path`). */
export function problem(
  status: number,
  type: string,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): Answer {
  return {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify({ type: `urn:switchboard:webhook:${type}`, title, status, detail, ...extra }),
  };
}

/** At most `max` characters of a sender's text, saying how long the whole was. */
export function clip(text: string, max = ECHO_LIMIT): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}

/**
 * Answers a request whose body has not ended (refused before or while reading it), without
 * letting it hold the connection: the whole answer goes out at once (with `connection: close`
 * and its length, so the sender has all of it), then what is still arriving is read and thrown
 * away, up to `maxDiscard` bytes. The connection closes when the body ends, or at the body's
 * deadline (the sender then gets `ANSWER_GRACE_MS` more to read an answer given at the
 * deadline). Closing while the sender's bytes still arrive makes the kernel reset the
 * connection, and a reset can discard the answer before the sender read it: that is why the
 * rest is read rather than left, and why past `maxDiscard` reading stops (the sender's writes
 * then block) instead of the socket being destroyed at once. A body declared longer than
 * `maxDiscard` is not read at all: it would not end within it anyway.
 */
export function answerThenDiscard(
  req: IncomingMessage,
  res: ServerResponse,
  answer: Answer,
  deadline: number,
  maxDiscard: number,
  declared: number,
): void {
  const body = Buffer.from(answer.body);
  res.writeHead(answer.status, { ...answer.headers, connection: 'close', 'content-length': String(body.length) });
  if (body.length > 0) res.write(body);
  else res.flushHeaders();
  let thrown = 0;
  let finished = false;
  const finish = (ended: boolean) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onGone);
    req.off('close', onGone);
    res.end();
    // the body ended: node closes the connection once the answer is flushed (`connection: close`)
    if (!ended) req.socket?.destroy();
  };
  const onData = (chunk: Buffer) => {
    thrown += chunk.length;
    if (thrown > maxDiscard) {
      req.off('data', onData);
      req.pause();
    }
  };
  const onEnd = () => finish(true);
  const onGone = () => finish(false);
  const timer = setTimeout(onGone, Math.max(deadline - performance.now(), ANSWER_GRACE_MS));
  timer.unref();
  req.once('end', onEnd);
  req.once('error', onGone);
  req.once('close', onGone);
  if (declared > maxDiscard) {
    req.pause();
    return;
  }
  req.on('data', onData);
  req.resume();
}
