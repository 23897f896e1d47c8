import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import https from 'node:https';
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { runTlsCheck } from '../../packages/checks/kinds/tls.js';
import type { TlsCheckSpec } from '../../packages/config/schema.js';
import { systemClock, type AttemptContext } from '../../packages/checks/model.js';

const silent = { debug: () => {}, info: () => {}, warning: () => {} };
const DAY = 86_400_000;

function context(extra: Partial<AttemptContext> = {}): AttemptContext {
  return {
    signal: new AbortController().signal,
    timeouts: { connect: 2000, firstByte: 2000, total: 3000 },
    log: silent,
    clock: systemClock,
    baseDir: process.cwd(),
    ...extra,
  };
}

function spec(url: string, fields: Partial<TlsCheckSpec> = {}): TlsCheckSpec {
  return { name: 'tls', type: 'tls', url, ...fields };
}

interface Pem {
  cert: string;
  key: string;
}

async function certificate(altNames: { type: 2 | 7; value?: string; ip?: string }[], validDays: number): Promise<Pem> {
  const pems = await generate([{ name: 'commonName', value: altNames[0]?.value ?? 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - DAY),
    notAfterDate: new Date(Date.now() + validDays * DAY),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

async function serveTls(pem: Pem): Promise<{ server: https.Server; port: number }> {
  const server = https.createServer({ cert: pem.cert, key: pem.key }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('tls check', () => {
  let local: Pem;
  let elsewhere: Pem;
  let expiring: Pem;
  const servers: https.Server[] = [];
  let localPort: number;
  let elsewherePort: number;
  let expiringPort: number;
  let dir: string;

  beforeAll(async () => {
    [local, elsewhere, expiring] = await Promise.all([
      certificate([{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }], 365),
      certificate([{ type: 2, value: 'a.example' }, { type: 2, value: 'b.example' }], 365),
      certificate([{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }], 5),
    ]);
    for (const [pem, set] of [
      [local, (p: number) => (localPort = p)],
      [elsewhere, (p: number) => (elsewherePort = p)],
      [expiring, (p: number) => (expiringPort = p)],
    ] as const) {
      const { server, port } = await serveTls(pem);
      servers.push(server);
      set(port);
    }
    dir = await mkdtemp(path.join(tmpdir(), 'rollgate-tls-'));
    await writeFile(path.join(dir, 'local-ca.pem'), local.cert);
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await rm(dir, { recursive: true, force: true });
  });

  it('fails the chain of a self-signed certificate that is not trusted, naming the OpenSSL code', async () => {
    const result = await runTlsCheck(spec(`https://localhost:${localPort}/`), context());
    expect(result.outcome).toBe('fail');
    const chain = result.assertions.find((a) => a.expectation === 'certificate chain is trusted')!;
    expect(chain.passed).toBe(false);
    expect(chain.observed).toMatch(/^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)$/);
    expect(chain.message).toMatch(/self-signed .* add .*`ca:`/);
    // The other verdicts are still given: one run reports every problem.
    expect(result.assertions.find((a) => a.expectation === 'certificate covers localhost')!.passed).toBe(true);
  });

  it('passes when the self-signed certificate is trusted through the check CA file, relative to the base folder', async () => {
    const result = await runTlsCheck(spec(`https://localhost:${localPort}/health`, { ca: 'local-ca.pem' }), context({ baseDir: dir }));
    expect(result.message).toMatch(/trusted certificate for localhost/);
    expect(result.outcome).toBe('pass');
    expect(result.measurements.days_to_expiry).toBeGreaterThanOrEqual(364);
    expect(result.measurements.handshake_ms).toBeGreaterThan(0);
    expect(result.details).toMatchObject({
      subject: 'CN=localhost',
      issuer: 'CN=localhost',
      subjectAltNames: ['DNS:localhost', 'IP Address:127.0.0.1'],
      protocol: expect.stringMatching(/^TLSv1\.[23]$/),
      cipher: expect.any(String),
      fingerprint256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
    });
  });

  it('passes when the CA comes from the run context, and checks an IP target against IP SANs', async () => {
    const result = await runTlsCheck(spec(`127.0.0.1:${localPort}`), context({ ca: local.cert }));
    expect(result.outcome).toBe('pass');
    expect(result.assertions.map((a) => a.expectation)).toEqual([
      'certificate chain is trusted',
      'certificate covers 127.0.0.1',
      'expires in >= 14 days',
    ]);
  });

  it('fails a host name the certificate does not cover and names what it does cover', async () => {
    const result = await runTlsCheck(spec(`https://127.0.0.1:${elsewherePort}`), context({ ca: elsewhere.cert }));
    expect(result.outcome).toBe('fail');
    const host = result.assertions.find((a) => a.expectation === 'certificate covers 127.0.0.1')!;
    expect(host.passed).toBe(false);
    expect(host.message).toBe('host name mismatch: the certificate covers DNS:a.example, DNS:b.example, not 127.0.0.1');
    expect(result.message).toContain('DNS:a.example, DNS:b.example');
  });

  it('checks the configured servername instead of the connected host', async () => {
    const result = await runTlsCheck(spec(`https://127.0.0.1:${elsewherePort}`, { servername: 'b.example' }), context({ ca: elsewhere.cert }));
    expect(result.outcome).toBe('pass');
    expect(result.details).toMatchObject({ servername: 'b.example' });
  });

  it('fails a certificate expiring in 5 days against the default minimum of 14 days', async () => {
    const result = await runTlsCheck(spec(`https://localhost:${expiringPort}`), context({ ca: expiring.cert }));
    expect(result.outcome).toBe('fail');
    expect(result.measurements.days_to_expiry).toBe(4);
    const expiry = result.assertions.find((a) => a.expectation === 'expires in >= 14 days')!;
    expect(expiry.passed).toBe(false);
    expect(expiry.message).toMatch(/^certificate expires in 4 days \(notAfter \d{4}-\d\d-\d\dT.*\), less than the required 14; renew it$/);
  });

  it('passes the same certificate when the minimum is lowered to 3 days', async () => {
    const result = await runTlsCheck(spec(`https://localhost:${expiringPort}`, { minDaysToExpiry: 3 }), context({ ca: expiring.cert }));
    expect(result.outcome).toBe('pass');
  });

  it('reports a closed port as a connect error', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const result = await runTlsCheck(spec(`https://127.0.0.1:${port}`), context());
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('connect');
    expect(result.message).toBe(`127.0.0.1:${port}: connection refused (is the service running and listening on that port?)`);
  });

  it('reports a port that accepts but never answers the handshake as a timeout', async () => {
    const silentServer = net.createServer(() => {});
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    const port = (silentServer.address() as AddressInfo).port;
    try {
      const result = await runTlsCheck(spec(`127.0.0.1:${port}`), context({ timeouts: { connect: 300, firstByte: 300, total: 300 } }));
      expect(result.outcome).toBe('error');
      expect(result.errorKind).toBe('timeout');
      expect(result.message).toMatch(/no TLS handshake within the connect timeout of 300 ms/);
    } finally {
      silentServer.close();
      // Connections the server accepted are closed by the check itself (socket.destroy on timeout).
    }
  });

  it('reports an unreadable CA file as an error naming the resolved path', async () => {
    const result = await runTlsCheck(spec(`https://localhost:${localPort}`, { ca: 'missing.pem' }), context({ baseDir: dir }));
    expect(result.outcome).toBe('error');
    expect(result.message).toContain(path.join(dir, 'missing.pem'));
    expect(result.message).toContain('ENOENT');
  });
});
