import { createServer, request as httpRequest, type Server } from 'node:http';
import { listenLoopback } from './net.js';

/**
 * A seeded load balancer on loopback, in front of several bot instances: each POST goes,
 * whole, to one target picked at random. A target that does not answer (killed) gets the
 * POST a 502, as a real balancer would, and Graph delivers it again later.
 */
export async function balancer(
  targets: () => readonly string[],
  seed: number,
  onPick: (index: number) => void = () => {},
): Promise<{ url: string; close(): Promise<void> }> {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const server: Server = createServer((req, res) => {
    const all = targets();
    const index = Math.min(all.length - 1, Math.floor(next() * all.length));
    onPick(index);
    const target = new URL(all[index]!);
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  return listenLoopback(server);
}
