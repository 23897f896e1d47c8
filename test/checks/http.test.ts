import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpCheck } from '../../packages/config/schema.js';
import { runHttpCheck } from '../../packages/checks/kinds/http.js';
import { closeHttpAgents } from '../../packages/checks/http-client.js';
import { systemClock, type AttemptContext } from '../../packages/checks/model.js';
import { closedPort, startHttpServer, startHttpsServer, startTcpServer, type TestServer } from '../support/servers.js';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';

function context(overrides: Partial<AttemptContext> = {}): AttemptContext {
  return {
    signal: new AbortController().signal,
    timeouts: { connect: 1000, firstByte: 1000, total: 2000 },
    log: { debug: () => undefined, info: () => undefined, warning: () => undefined },
    clock: systemClock,
    baseDir: process.cwd(),
    ...overrides,
  };
}

/** A check as the config loader would hand it over (parsed by the schema, so durations are milliseconds). */
function spec(input: Record<string, unknown>) {
  return HttpCheck.parse({ name: 'test', type: 'http', ...input });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, headers);
  res.end(body);
}

const json = { 'content-type': 'application/json' };

let server: TestServer;
let notFoundCount = 0;

function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://x');
  switch (url.pathname) {
    case '/health':
      return send(res, 200, JSON.stringify({ status: 'ok', version: '1.4.2', latency: 12, tags: ['stable', 'beta'], checks: { cache: 'up', queue: 'up' }, data: { items: [{ id: 3 }] } }), {
        ...json,
        'x-service-version': '1.4.2',
      });
    case '/flaky': // 404 once, then 200: what a service looks like while it is still starting
      notFoundCount++;
      return notFoundCount === 1 ? send(res, 404, 'not yet') : send(res, 200, '{"status":"ok"}', json);
    case '/status':
      return send(res, Number(url.searchParams.get('code')), '');
    case '/empty':
      return send(res, 200, '', json);
    case '/text':
      return send(res, 200, 'PASS', { 'content-type': 'text/plain; charset=utf-8' });
    case '/broken-json':
      return send(res, 200, '{"status": "ok",\n "count": 12,, "x": 1}', json);
    case '/slow':
      setTimeout(() => send(res, 200, '{"status":"ok"}', json), 150);
      return;
    case '/echo': {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () =>
        send(res, 200, JSON.stringify({ method: req.method, contentType: req.headers['content-type'] ?? null, body: Buffer.concat(chunks).toString('utf8'), apiKey: req.headers['x-api-key'] ?? null }), {
          ...json,
          'x-echo-key': String(req.headers['x-api-key'] ?? ''),
        }),
      );
      return;
    }
    default:
      return send(res, 404, 'no such route');
  }
}

beforeAll(async () => {
  server = await startHttpServer(handle);
});

afterAll(async () => {
  await server.close();
  await closeHttpAgents();
});

describe('http check: status', () => {
  it('passes a 200 that meets every expectation and reports status and latency', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/health`, expect: { body: ['$.status == "ok"'] } }), context());
    expect(result.outcome).toBe('pass');
    expect(result.message).toMatch(/^200 OK in \d+ ms$/);
    expect(result.status).toBe(200);
    expect(result.measurements).toMatchObject({ status: 200, body_bytes: expect.any(Number), latency_ms: expect.any(Number), first_byte_ms: expect.any(Number) });
    expect(result.assertions.map((a) => a.expectation)).toEqual(['status is 2xx', '$.status == "ok"']);
  });

  it('fails a 404 with the status on the result so the runner can retry, then passes once the service answers 200', async () => {
    const check = spec({ url: `${server.url}/flaky` });
    const first = await runHttpCheck(check, context());
    expect(first).toMatchObject({ outcome: 'fail', status: 404 });
    expect(first.message).toBe('status 404 Not Found, expected 2xx; body: "not yet"');
    const second = await runHttpCheck(check, context());
    expect(second).toMatchObject({ outcome: 'pass', status: 200 });
  });

  it('accepts an exact status, a range and a list of patterns', async () => {
    const at = (code: number) => `${server.url}/status?code=${code}`;
    expect((await runHttpCheck(spec({ url: at(204), expect: { status: 204 } }), context())).outcome).toBe('pass');
    expect((await runHttpCheck(spec({ url: at(299), expect: { status: '200-299' } }), context())).outcome).toBe('pass');
    expect((await runHttpCheck(spec({ url: at(302), expect: { status: [200, '3xx'] } }), context())).outcome).toBe('pass');
    const miss = await runHttpCheck(spec({ url: at(500), expect: { status: [200, '3xx'] } }), context());
    expect(miss).toMatchObject({ outcome: 'fail', status: 500, message: 'status 500 Internal Server Error, expected 200 or 3xx' });
  });

  it('passes an expected non-2xx status such as 404', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/nope`, expect: { status: 404 } }), context());
    expect(result.outcome).toBe('pass');
    expect(result.message).toMatch(/^404 Not Found in/);
  });
});

describe('http check: headers', () => {
  it('passes exact and /regex/ header expectations', async () => {
    const result = await runHttpCheck(
      spec({ url: `${server.url}/health`, expect: { headers: { 'Content-Type': 'application/json', 'x-service-version': '/^1\\.\\d+/' } } }),
      context(),
    );
    expect(result.outcome).toBe('pass');
    expect(result.assertions.map((a) => a.expectation)).toContain('header x-service-version matches /^1\\.\\d+/');
  });

  it('fails a header with another value and a missing header, and counts the extra failures', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/health`, expect: { headers: { 'x-service-version': '2.0.0', 'x-region': 'eu' } } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toBe('header x-service-version is "1.4.2", expected "2.0.0" (+1 more)');
    expect(result.assertions[2]!.message).toMatch(/^header x-region is missing from the response \(headers present: .*content-type/);
  });
});

describe('http check: body conditions', () => {
  it('passes every operator against a JSON body', async () => {
    const result = await runHttpCheck(
      spec({
        url: `${server.url}/health`,
        expect: {
          body: [
            '$.status == "ok"',
            '$.status != down',
            '$.latency < 100',
            '$.latency <= 12',
            '$.data.items[0].id >= 3',
            '$.latency > 1',
            '$.tags contains "beta"',
            '$.version matches ^1\\.',
            '$.checks.cache exists',
          ],
        },
      }),
      context(),
    );
    expect(result.assertions.filter((a) => !a.passed)).toEqual([]);
    expect(result.outcome).toBe('pass');
  });

  it('fails a missing path naming the deepest key that exists', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/health`, expect: { body: ['$.checks.db exists'] } }), context());
    expect(result).toMatchObject({ outcome: 'fail', message: '$.checks.db: no key `db` under $.checks (keys: cache, queue)' });
  });

  it('fails a path through a scalar and says so', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/health`, expect: { body: ['$.status.code == 200'] } }), context());
    expect(result).toMatchObject({ outcome: 'fail', message: '$.status.code: $.status is a string, not an object' });
  });

  it('fails a JSON body expectation on a 200 with an empty body, saying "empty body"', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/empty`, expect: { body: ['$.status == "ok"'] } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/empty body/);
    expect(result.measurements.body_bytes).toBe(0);
  });

  it('fails a JSON path against a text/plain PASS, naming the content type', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/text`, expect: { body: ['$.status == "ok"'] } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toBe('$.status == "ok": body is text/plain, not JSON: "PASS"');
  });

  it('fails invalid JSON under a JSON content type and says where parsing stopped', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/broken-json`, expect: { body: ['$.status == "ok"'] } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/body is application\/json but not valid JSON: .* at line 2 column 14, near /);
  });

  it('refuses an unreadable condition when the config is read', () => {
    expect(() => spec({ url: `${server.url}/health`, expect: { body: ['status == ok'] } })).toThrow(/starts with a JSON path/);
  });

  it('still fails an unreadable condition in a check built in code, instead of skipping it', async () => {
    const built = { ...spec({ url: `${server.url}/health` }), expect: { body: ['status == ok'] } };
    const result = await runHttpCheck(built, context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/starts with a JSON path/);
  });
});

describe('http check: text and latency', () => {
  it('passes raw-text contains and matches on a non-JSON body', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/text`, expect: { text: { contains: 'PASS', matches: '^PA' } } }), context());
    expect(result.outcome).toBe('pass');
  });

  it('fails a text expectation on an empty body with "empty body"', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/empty`, expect: { text: { contains: 'PASS' } } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toBe('body contains "PASS": empty body (HTTP 200)');
  });

  it('fails text that does not match and shows how the body starts', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/text`, expect: { text: { matches: '^FAIL' } } }), context());
    expect(result.message).toBe('body does not match /^FAIL/; body starts "PASS"');
  });

  it('fails a response slower than maxLatency', async () => {
    const result = await runHttpCheck(spec({ url: `${server.url}/slow`, expect: { maxLatency: '50ms' } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/^latency \d+ ms, expected at most 50 ms$/);
  });
});

describe('http check: requests', () => {
  it('sends an object body as JSON with a JSON content type', async () => {
    const result = await runHttpCheck(
      spec({ url: `${server.url}/echo`, method: 'POST', body: { hello: 'world' }, expect: { body: ['$.method == POST', '$.contentType == "application/json"', '$.body == "{\\"hello\\":\\"world\\"}"'] } }),
      context(),
    );
    expect(result.assertions.filter((a) => !a.passed)).toEqual([]);
  });

  it('never shows a header value marked secret, even when the server echoes it', async () => {
    const key = 'sk-live-7f3c9a1e5b';
    const result = await runHttpCheck(
      spec({
        url: `${server.url}/echo`,
        headers: { 'x-api-key': { value: key, secret: true } },
        expect: { headers: { 'x-echo-key': 'something-else' }, body: ['$.apiKey == nope'] },
      }),
      context(),
    );
    expect(result.outcome).toBe('fail');
    expect(result.message).toContain('***');
    expect(JSON.stringify(result)).not.toContain(key);
  });
});

describe('http check: transport failures', () => {
  it('ends with an error when the server accepts the connection but never sends headers, and does not hang', async () => {
    const silent = await startTcpServer(() => undefined);
    try {
      const started = Date.now();
      const result = await runHttpCheck(spec({ url: `${silent.url}/health` }), context({ timeouts: { connect: 1000, firstByte: 1000, total: 1000 } }));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(result.outcome).toBe('error');
      expect(result.errorKind).toBe('timeout');
      expect(result.message).toMatch(/no response headers arrived in 1 s/);
      expect(result.assertions).toEqual([]);
    } finally {
      await silent.close();
    }
  });

  it('ends with an error at the first-byte timeout when headers come only much later', async () => {
    const late = await startHttpServer((_req, res) => {
      const timer = setTimeout(() => send(res, 200, 'late'), 5000);
      res.on('close', () => clearTimeout(timer));
    });
    try {
      const started = Date.now();
      const result = await runHttpCheck(spec({ url: late.url }), context({ timeouts: { connect: 1000, firstByte: 1000, total: 10_000 } }));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(result).toMatchObject({ outcome: 'error', errorKind: 'timeout' });
      expect(result.message).toMatch(/no response headers arrived in 1 s \(first-byte timeout\)/);
    } finally {
      await late.close();
    }
  });

  it('reports a closed port as a connect error', async () => {
    const port = await closedPort();
    const result = await runHttpCheck(spec({ url: `http://127.0.0.1:${port}/health` }), context());
    expect(result).toMatchObject({ outcome: 'error', errorKind: 'connect' });
    expect(result.message).toMatch(/connection refused/);
  });

  it('stops when the run deadline aborts the attempt', async () => {
    const silent = await startTcpServer(() => undefined);
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('deadline')), 100);
      const result = await runHttpCheck(spec({ url: silent.url }), context({ signal: controller.signal, timeouts: { connect: 1000, firstByte: 5000, total: 5000 } }));
      expect(result).toMatchObject({ outcome: 'error', errorKind: 'deadline' });
      expect(result.message).toMatch(/run deadline passed/);
    } finally {
      await silent.close();
    }
  });
});

describe('http check: HTTPS', () => {
  let secure: TestServer & { cert: string };

  beforeAll(async () => {
    secure = await startHttpsServer((_req, res) => send(res, 200, '{"status":"ok"}', json));
  });

  afterAll(async () => {
    await secure.close();
  });

  it('fails with a TLS error on a self-signed certificate that is not trusted', async () => {
    const result = await runHttpCheck(spec({ url: `${secure.url}/health` }), context());
    expect(result).toMatchObject({ outcome: 'error', errorKind: 'tls' });
    expect(result.message).toMatch(/TLS failed: .*self-signed|TLS failed: .*SELF_SIGNED/i);
    expect(result.message).toMatch(/add its certificate \(PEM\) with settings.ca in rollgate.yml or NODE_EXTRA_CA_CERTS/);
  });

  it('passes once the certificate is trusted through ctx.ca', async () => {
    const result = await runHttpCheck(spec({ url: `${secure.url}/health`, expect: { body: ['$.status == ok'] } }), context({ ca: secure.cert }));
    expect(result.outcome).toBe('pass');
  });
});

describe('bodies and credentials as servers really send them', () => {
  it('sends credentials written in the URL as basic auth and keeps them out of the result', async () => {
    const server = await startHttpServer((req, res) => {
      const ok = req.headers.authorization === `Basic ${Buffer.from('admin:PassW0rd XYZ').toString('base64')}`;
      res.writeHead(ok ? 200 : 401).end(ok ? 'welcome' : 'need auth');
    });
    try {
      const url = server.url.replace('http://', 'http://admin:PassW0rd%20XYZ@') + '/private';
      const result = await runHttpCheck({ name: 'creds', type: 'http', url }, context());
      expect(result.outcome).toBe('pass');
      expect(JSON.stringify(result)).not.toContain('PassW0rd');
    } finally {
      await server.close();
    }
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('reads a %s-encoded JSON body', async (encoding, compress) => {
    const server = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding }).end(compress(Buffer.from('{"status":"ok"}')));
    });
    try {
      const result = await runHttpCheck({ name: 'z', type: 'http', url: server.url, expect: { body: ['$.status == "ok"'] } }, context());
      expect(result.outcome).toBe('pass');
    } finally {
      await server.close();
    }
  });

  it('reads JSON that starts with a byte-order mark', async () => {
    const server = await startHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('\uFEFF{"status":"ok"}'));
    try {
      const result = await runHttpCheck({ name: 'bom', type: 'http', url: server.url, expect: { body: ['$.status == "ok"'] } }, context());
      expect(result.outcome).toBe('pass');
    } finally {
      await server.close();
    }
  });
});
