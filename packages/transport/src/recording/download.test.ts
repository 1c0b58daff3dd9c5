import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { downloadRecording, openRecording, RecordingError } from './download.js';

/**
 * The recording download against real HTTP servers on loopback: the token goes to the
 * recording's host and nowhere else, the limits hold, and every failure has its code.
 * Two servers on loopback are two origins (another port): what holds for another host.
 */

const TOKEN = 'rec-token-9f8e7d6c5b4a39281706';
const AUDIO = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 251));

interface Seen {
  readonly path: string;
  readonly authorization: string | undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

const servers: Server[] = [];
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'swb-recording-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A server that answers the recording to its token only. */
async function recordingServer(extra: Handler = () => undefined) {
  const s = await serve((req, res) => {
    if (req.url?.startsWith('/recordings/')) {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': AUDIO.length }).end(AUDIO);
      return;
    }
    extra(req, res);
  });
  servers.push(s.server);
  return s;
}

async function failure(promise: Promise<unknown>): Promise<RecordingError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RecordingError);
  return error as RecordingError;
}

function lines(): { debug: string[]; logger: { debug: Handler2; info: Handler2; warn: Handler2; error: Handler2 } } {
  const debug: string[] = [];
  const push: Handler2 = (obj, msg) => void debug.push(`${msg ?? ''} ${JSON.stringify(obj)}`);
  return { debug, logger: { debug: push, info: push, warn: push, error: push } };
}
type Handler2 = (obj: object, msg?: string) => void;

describe('downloadRecording', () => {
  it('writes the recording to a file, sending the token to its host', async () => {
    const s = await recordingServer();
    const to = join(dir, 'a.wav');
    const log = lines();
    const result = await downloadRecording({ location: `http://127.0.0.1:${s.port}/recordings/1`, accessToken: TOKEN }, to, {
      logger: log.logger,
    });
    expect(result).toEqual({ bytes: AUDIO.length, contentType: 'audio/wav' });
    expect(readFileSync(to).equals(AUDIO)).toBe(true);
    expect(s.seen).toEqual([{ path: '/recordings/1', authorization: `Bearer ${TOKEN}` }]);
    expect(log.debug.length).toBeGreaterThan(0);
    expect(log.debug.join('\n')).not.toContain(TOKEN);
  });

  it('writes to a writable stream, and opens the recording as a readable', async () => {
    const s = await recordingServer();
    const location = `http://127.0.0.1:${s.port}/recordings/2`;
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    expect((await downloadRecording({ location, accessToken: TOKEN }, sink)).bytes).toBe(AUDIO.length);
    expect(Buffer.concat(chunks).equals(AUDIO)).toBe(true);

    const open = await openRecording({ location, accessToken: TOKEN });
    expect([open.contentType, open.contentLength]).toEqual(['audio/wav', AUDIO.length]);
    const read: Buffer[] = [];
    for await (const chunk of open.body) read.push(chunk as Buffer);
    expect(Buffer.concat(read).equals(AUDIO)).toBe(true);
  });

  it('a wrong token: SWB_RECORDING_UNAUTHORIZED with the status and host, the token in no message', async () => {
    const s = await recordingServer();
    const to = join(dir, 'wrong.wav');
    const e = await failure(downloadRecording({ location: `http://127.0.0.1:${s.port}/recordings/3`, accessToken: 'not-the-token' }, to));
    expect([e.code, e.status, e.host]).toEqual(['SWB_RECORDING_UNAUTHORIZED', 401, `127.0.0.1:${s.port}`]);
    expect(e.message).not.toContain('not-the-token');
    expect(existsSync(to)).toBe(false);
  });

  it('404: SWB_RECORDING_NOT_FOUND; 500: SWB_RECORDING_HTTP', async () => {
    const s = await serve((req, res) => res.writeHead(req.url === '/gone' ? 404 : 500).end('nope'));
    servers.push(s.server);
    const e404 = await failure(openRecording({ location: `http://127.0.0.1:${s.port}/gone`, accessToken: TOKEN }));
    const e500 = await failure(openRecording({ location: `http://127.0.0.1:${s.port}/broken`, accessToken: TOKEN }));
    expect([e404.code, e404.status, e500.code, e500.status]).toEqual(['SWB_RECORDING_NOT_FOUND', 404, 'SWB_RECORDING_HTTP', 500]);
  });

  it('follows a redirect on its own host with the token', async () => {
    const s = await recordingServer((_req, res) => res.writeHead(302, { location: '/recordings/moved' }).end());
    const result = await downloadRecording({ location: `http://127.0.0.1:${s.port}/old`, accessToken: TOKEN }, join(dir, 'same.wav'));
    expect(result.bytes).toBe(AUDIO.length);
    expect(s.seen.map((r) => r.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
  });

  it('a redirect to another host does not carry the token there', async () => {
    const storage = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav' }).end(AUDIO);
    });
    servers.push(storage.server);
    // another port is another origin: the token stays behind, as it would for another host
    const front = await recordingServer((_req, res) =>
      res.writeHead(307, { location: `http://127.0.0.1:${storage.port}/blob/1?sig=signed-url-secret` }).end(),
    );
    const log = lines();
    const result = await downloadRecording({ location: `http://127.0.0.1:${front.port}/start`, accessToken: TOKEN }, join(dir, 'x.wav'), {
      logger: log.logger,
    });
    expect(result.bytes).toBe(AUDIO.length);
    expect(front.seen).toEqual([{ path: '/start', authorization: `Bearer ${TOKEN}` }]);
    expect(storage.seen).toEqual([{ path: '/blob/1?sig=signed-url-secret', authorization: undefined }]);
    const logged = log.debug.join('\n');
    expect(logged).toContain('not sent there');
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain('signed-url-secret'); // a signed URL's query is a credential too
  });

  it('refuses a redirect to plain http off loopback, too many redirects, and one without a Location', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/downgrade') res.writeHead(302, { location: 'http://recordings.example.com/x' }).end();
      else if (req.url === '/nowhere') res.writeHead(302).end();
      else res.writeHead(302, { location: `/loop${Number(req.url?.slice(5) || 0) + 1}` }).end();
    });
    servers.push(s.server);
    const base = `http://127.0.0.1:${s.port}`;
    const downgrade = await failure(openRecording({ location: `${base}/downgrade`, accessToken: TOKEN }));
    expect([downgrade.code, downgrade.host]).toEqual(['SWB_RECORDING_REDIRECT', 'recordings.example.com']);
    const loop = await failure(openRecording({ location: `${base}/loop0`, accessToken: TOKEN }, { maxRedirects: 3 }));
    expect(loop.code).toBe('SWB_RECORDING_REDIRECT');
    expect(s.seen.filter((r) => r.path.startsWith('/loop'))).toHaveLength(4); // the first request and 3 redirects
    expect((await failure(openRecording({ location: `${base}/nowhere`, accessToken: TOKEN }))).code).toBe('SWB_RECORDING_REDIRECT');
  });

  it('over maxBytes: refused by Content-Length, or cut off mid-stream; no file is left', async () => {
    const declared = await recordingServer();
    const to = join(dir, 'big.wav');
    const byLength = await failure(
      downloadRecording({ location: `http://127.0.0.1:${declared.port}/recordings/4`, accessToken: TOKEN }, to, { maxBytes: 1000 }),
    );
    expect(byLength.code).toBe('SWB_RECORDING_TOO_LARGE');
    // no Content-Length: chunked, counted as it arrives
    const chunked = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav' });
      res.write(AUDIO.subarray(0, 20_000));
      setTimeout(() => res.end(AUDIO.subarray(20_000)), 20);
    });
    servers.push(chunked.server);
    const midStream = await failure(
      downloadRecording({ location: `http://127.0.0.1:${chunked.port}/r`, accessToken: TOKEN }, to, { maxBytes: 30_000 }),
    );
    expect(midStream.code).toBe('SWB_RECORDING_TOO_LARGE');
    expect(existsSync(to)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('big.wav'))).toEqual([]); // nor its temporary file
  });

  it('a location that stops sending: SWB_RECORDING_TIMEOUT; the caller aborting: SWB_RECORDING_ABORTED', async () => {
    const stall = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': AUDIO.length });
      res.write(AUDIO.subarray(0, 1000)); // and never the rest
    });
    servers.push(stall.server);
    const location = `http://127.0.0.1:${stall.port}/r`;
    const timeout = await failure(downloadRecording({ location, accessToken: TOKEN }, join(dir, 't.wav'), { timeoutMs: 300 }));
    expect(timeout.code).toBe('SWB_RECORDING_TIMEOUT');
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('bot shutting down')), 100);
    const aborted = await failure(downloadRecording({ location, accessToken: TOKEN }, join(dir, 'a2.wav'), { signal: controller.signal }));
    expect(aborted.code).toBe('SWB_RECORDING_ABORTED');
    expect(existsSync(join(dir, 't.wav')) || existsSync(join(dir, 'a2.wav'))).toBe(false);
  });

  it('nothing listening: SWB_RECORDING_NETWORK naming the host and the cause', async () => {
    const s = await serve(() => undefined);
    const { port } = s;
    await new Promise<void>((resolve) => s.server.close(() => resolve()));
    const e = await failure(openRecording({ location: `http://127.0.0.1:${port}/recordings/5`, accessToken: TOKEN }));
    expect([e.code, e.host]).toEqual(['SWB_RECORDING_NETWORK', `127.0.0.1:${port}`]);
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('a destination that cannot be written: SWB_RECORDING_WRITE', async () => {
    const s = await recordingServer();
    const e = await failure(
      downloadRecording({ location: `http://127.0.0.1:${s.port}/recordings/6`, accessToken: TOKEN }, join(dir, 'no', 'such', 'dir.wav')),
    );
    expect(e.code).toBe('SWB_RECORDING_WRITE');
  });

  it('refuses bad arguments before sending anything', async () => {
    const s = await recordingServer();
    const args: Array<[string, string]> = [
      ['', TOKEN],
      ['not a url', TOKEN],
      ['http://recordings.example.com/x', TOKEN], // plain http off loopback
      ['ftp://127.0.0.1/x', TOKEN],
      [`http://127.0.0.1:${s.port}/recordings/7`, ''],
      [`http://127.0.0.1:${s.port}/recordings/7`, 'a\r\nb'],
    ];
    for (const [location, accessToken] of args) {
      await expect(openRecording({ location, accessToken })).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    }
    expect(s.seen).toEqual([]);
  });
});
