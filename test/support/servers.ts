/**
 * Real local servers for tests: HTTP, HTTPS (self-signed certificates made on the spot) and raw TCP, all on
 * 127.0.0.1 with a port the OS picks. `close()` destroys open connections too, so a test never waits on keep-alive
 * sockets or on a handler that never answers.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { generate } from 'selfsigned';

export interface TestServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:43121 */
  url: string;
  port: number;
  /** Stops listening and destroys every open connection. Safe to call twice. */
  close(): Promise<void>;
}

export interface Certificate {
  /** PEM; also what a client passes as `ca` to trust this self-signed certificate. */
  cert: string;
  key: string;
}

/** A self-signed certificate valid for localhost and 127.0.0.1 (or the given names), for `days` days. */
export async function selfSignedCertificate(options: { hosts?: string[]; days?: number } = {}): Promise<Certificate> {
  const hosts = options.hosts ?? ['localhost', '127.0.0.1'];
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + (options.days ?? 30) * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: hosts[0] ?? 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((host) => (net.isIP(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

export async function startHttpServer(handler: http.RequestListener): Promise<TestServer> {
  return listen(http.createServer(handler), 'http');
}

export async function startHttpsServer(handler: http.RequestListener, certificate?: Certificate): Promise<TestServer & Certificate> {
  const { cert, key } = certificate ?? (await selfSignedCertificate());
  const server = await listen(https.createServer({ cert, key }, handler), 'https');
  return { ...server, cert, key };
}

/** A bare TCP server: `onConnection` decides what (if anything) is ever written. */
export async function startTcpServer(onConnection: (socket: net.Socket) => void): Promise<TestServer> {
  return listen(net.createServer(onConnection), 'http');
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = await startTcpServer((socket) => socket.destroy());
  await server.close();
  return server.port;
}

async function listen(server: net.Server, scheme: 'http' | 'https'): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', (socket: net.Socket) => track(socket));
  if (scheme === 'https') server.on('connection', (socket: net.Socket) => track(socket));
  function track(socket: net.Socket) {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      })),
  };
}
