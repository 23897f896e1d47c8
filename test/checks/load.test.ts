import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { LOAD_LIMITS, runLoadCheck } from '../../packages/checks/kinds/load.js';
import { LoadCheck, type LoadCheckSpec } from '../../packages/config/schema.js';
import { parseConfig } from '../../packages/config/load.js';
import { Secrets } from '../../packages/config/secrets.js';
import { systemClock, type AttemptContext } from '../../packages/checks/model.js';

const silent = { debug: () => {}, info: () => {}, warning: () => {} };

function context(signal: AbortSignal = new AbortController().signal): AttemptContext {
  return { signal, timeouts: { connect: 1000, firstByte: 2000, total: 3000 }, log: silent, clock: systemClock, baseDir: process.cwd() };
}

function spec(url: string, fields: Partial<LoadCheckSpec>): LoadCheckSpec {
  return { name: 'load', type: 'load', url, duration: 1000, ...fields };
}

interface Target {
  url: string;
  server: http.Server;
}

async function serve(handler: http.RequestListener): Promise<Target> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function shut(target: Target): Promise<void> {
  target.server.closeAllConnections();
  await new Promise<void>((resolve) => target.server.close(() => resolve()));
}

interface Hostile {
  url: string;
  close(): Promise<void>;
}

/** An HTTP server that misbehaves through its handler; every timer it starts stops when the connection goes. */
async function hostileHttp(handler: http.RequestListener): Promise<Hostile> {
  const target = await serve(handler);
  return { url: target.url, close: () => shut(target) };
}

/** A TCP server that accepts connections and then neither reads nor writes. */
async function silentTcp(): Promise<Hostile> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.pause();
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Counts requests in flight at the target (each answered after `delayMs`) and the sockets it saw. */
async function counting(delayMs: number): Promise<Target & { maxInFlight: () => number; sockets: () => number }> {
  let inFlight = 0;
  let max = 0;
  const sockets = new Set<unknown>();
  const target = await serve((req, res) => {
    sockets.add(req.socket);
    inFlight++;
    max = Math.max(max, inFlight);
    setTimeout(() => {
      inFlight--;
      res.end('ok');
    }, delayMs);
  });
  return { ...target, maxInFlight: () => max, sockets: () => sockets.size };
}

/** A port nothing listens on: bound, read, released. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('load check', () => {
  let fast: Target;
  let slow: Target;
  let flaky: Target;

  beforeAll(async () => {
    fast = await serve((_req, res) => res.end('ok'));
    slow = await serve((_req, res) => setTimeout(() => res.end('ok'), 20));
    let n = 0;
    flaky = await serve((_req, res) => {
      n++;
      res.statusCode = n % 4 === 0 ? 500 : 200;
      res.end();
    });
  });

  afterAll(async () => {
    await Promise.all([shut(fast), shut(slow), shut(flaky)]);
  });

  it('sends about rate × duration requests at a fixed rate and reports their percentiles', async () => {
    const result = await runLoadCheck(spec(fast.url, { rate: 100, duration: 1000 }), context());
    expect(result.outcome).toBe('pass');
    expect(result.measurements.requests).toBeGreaterThanOrEqual(95);
    expect(result.measurements.requests).toBeLessThanOrEqual(100);
    expect(result.measurements.successes).toBe(result.measurements.requests);
    expect(result.measurements.p50_ms).toBeGreaterThan(0);
    expect(result.measurements.p50_ms).toBeLessThanOrEqual(result.measurements.p99_ms!);
    expect(result.measurements.p99_ms).toBeLessThanOrEqual(result.measurements.max_ms!);
    expect(result.details).toMatchObject({ mode: 'fixed-rate', targetRate: 100 });
    expect((result.details!.achievedRate as number)).toBeGreaterThan(85);
  });

  it('sends every request that falls due within the duration, even at rates finer than the timer resolution', async () => {
    const result = await runLoadCheck(spec(fast.url, { rate: 1000, duration: 500 }), context());
    expect(result.measurements.requests).toBe(500);
    expect(result.measurements.not_sent).toBe(0);
    expect(result.outcome).toBe('pass');
  });

  it('measures latency from the intended start at a fixed rate, so a stall shows in the percentiles', async () => {
    // One connection and one 500 ms stall: every request due during the stall waits behind it. Measured from the
    // actual send time only one sample would be slow; measured from the intended time about half of them are.
    let n = 0;
    const stalling = await serve((_req, res) => {
      n++;
      if (n === 20) setTimeout(() => res.end('ok'), 500);
      else res.end('ok');
    });
    try {
      const result = await runLoadCheck(spec(stalling.url, { rate: 100, connections: 1, duration: 1000 }), context());
      expect(result.measurements.p90_ms).toBeGreaterThan(150);
      expect(result.measurements.max_ms).toBeGreaterThan(450);
    } finally {
      await shut(stalling);
    }
  });

  it('keeps a fixed number of requests in flight in fixed-concurrency mode', async () => {
    const result = await runLoadCheck(spec(slow.url, { concurrency: 4, duration: 500 }), context());
    expect(result.outcome).toBe('pass');
    expect(result.details).toMatchObject({ mode: 'fixed-concurrency', concurrency: 4, connections: 4 });
    // 4 workers × (500 ms / ~21 ms) ≈ 95 requests; the ceiling is what 4 in flight can do at 20 ms each.
    expect(result.measurements.requests).toBeGreaterThan(40);
    expect(result.measurements.requests).toBeLessThanOrEqual(4 * 26);
    expect(result.measurements.p50_ms).toBeGreaterThanOrEqual(19);
  });

  it('passes latency and throughput thresholds that the target meets', async () => {
    const result = await runLoadCheck(
      spec(slow.url, { concurrency: 2, duration: 500, thresholds: { p50: 1000, p95: 1000, p99: 2000, maxErrorRate: 0, minThroughput: 10 } }),
      context(),
    );
    expect(result.outcome).toBe('pass');
    expect(result.assertions.map((a) => a.expectation)).toEqual([
      'p50 <= 1 s',
      'p95 <= 1 s',
      'p99 <= 2 s',
      'error rate <= 0%',
      'throughput >= 10 req/s',
    ]);
    expect(result.assertions.every((a) => a.passed)).toBe(true);
  });

  it('fails a p95 threshold the target misses and quotes the observed value', async () => {
    const result = await runLoadCheck(spec(slow.url, { concurrency: 2, duration: 500, thresholds: { p95: 5 } }), context());
    expect(result.outcome).toBe('fail');
    const p95 = result.assertions.find((a) => a.expectation === 'p95 <= 5 ms')!;
    expect(p95.passed).toBe(false);
    expect(p95.message).toMatch(/p95 latency \d+(\.\d+)? ms is above the 5 ms threshold/);
    expect(result.message).toContain('p95');
  });

  it('fails a minimum throughput the target cannot reach', async () => {
    const result = await runLoadCheck(spec(slow.url, { concurrency: 1, duration: 500, thresholds: { minThroughput: 10_000 } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/below 10000 req\/s/);
  });

  it('fails as "no data" when every request to a closed port fails and a p95 threshold is set', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    const result = await runLoadCheck(spec(url, { rate: 50, duration: 500, thresholds: { p95: 1000 } }), context());
    expect(result.outcome).toBe('no-data');
    expect(result.message).toMatch(/no data: all \d+ requests failed \(connection refused\); nothing was measured \(p95 threshold cannot be judged\)/);
    expect(result.measurements.successes).toBe(0);
    expect(result.measurements.p95_ms).toBeUndefined();
    expect(result.assertions.find((a) => a.expectation.startsWith('p95'))).toMatchObject({ passed: false, observed: 'no data' });
  });

  it('never passes a closed port even at fixed concurrency without latency thresholds', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    const result = await runLoadCheck(spec(url, { concurrency: 2, duration: 300 }), context());
    expect(result.outcome).toBe('no-data');
    expect(result.measurements.error_rate).toBe(1);
    expect(result.details!.errors).toEqual([expect.objectContaining({ cause: 'connection refused', kind: 'connect' })]);
  });

  it('counts unexpected statuses as errors, not as latency samples, and judges the error rate', async () => {
    const strict = await runLoadCheck(spec(flaky.url, { concurrency: 2, duration: 400, thresholds: { maxErrorRate: 0.1 } }), context());
    expect(strict.outcome).toBe('fail');
    expect(strict.measurements.error_rate).toBeGreaterThan(0.2);
    expect(strict.measurements.error_rate).toBeLessThan(0.3);
    expect(strict.measurements.successes! + strict.measurements.errors!).toBe(strict.measurements.requests);
    expect(strict.details!.errors).toEqual([expect.objectContaining({ cause: 'status 500', kind: 'status' })]);
    expect(strict.message).toMatch(/error rate 2\d(\.\d+)?% .* is above 10%; errors: status 500/);

    const lenient = await runLoadCheck(spec(flaky.url, { concurrency: 2, duration: 300, thresholds: { maxErrorRate: 0.3 } }), context());
    expect(lenient.outcome).toBe('pass');
  });

  it('accepts the statuses listed in expectStatus', async () => {
    const result = await runLoadCheck(spec(flaky.url, { concurrency: 1, duration: 200, expectStatus: [200, 500], thresholds: { maxErrorRate: 0 } }), context());
    expect(result.outcome).toBe('pass');
    expect(result.measurements.errors).toBe(0);
  });

  it('says the run was cancelled, not that a deadline passed, when it was cancelled', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('the run was cancelled')), 200);
    const result = await runLoadCheck(spec(slow.url, { rate: 50, duration: 10_000 }), context(controller.signal));
    expect(result.message).toMatch(/because the run was cancelled/);
    expect(result.message).not.toContain('deadline');
  });

  it('stops promptly when its signal is aborted and reports what it measured', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('deadline')), 200);
    const started = Date.now();
    const result = await runLoadCheck(spec(slow.url, { rate: 50, duration: 10_000 }), context(controller.signal));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('deadline');
    expect(result.message).toMatch(/stopped after \d+ ms of 10 s because the run deadline passed/);
    expect(result.measurements.requests).toBeGreaterThan(3);
  });

  it('times out requests that get no response headers at fixed concurrency and counts them as errors', async () => {
    const hung = await serve(() => {});
    try {
      const ctx = { ...context(), timeouts: { connect: 500, firstByte: 200, total: 1000 } };
      const started = Date.now();
      const result = await runLoadCheck(spec(hung.url, { concurrency: 2, duration: 500, thresholds: { maxErrorRate: 0.5 } }), ctx);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(result.outcome).toBe('no-data');
      expect(result.measurements.successes).toBe(0);
      expect(result.measurements.errors).toBeGreaterThanOrEqual(2);
      expect(result.details!.errors).toEqual([
        expect.objectContaining({ cause: 'no response headers within the first-byte timeout of 200 ms', kind: 'timeout' }),
      ]);
    } finally {
      await shut(hung);
    }
  });

  it('bounds requests in flight at a fixed rate against a target that never answers', async () => {
    const hung = await serve(() => {});
    try {
      const ctx = { ...context(), timeouts: { connect: 500, firstByte: 400, total: 400 } };
      const started = Date.now();
      const result = await runLoadCheck(spec(hung.url, { rate: 200, concurrency: 10, duration: 500, thresholds: { p95: 100 } }), ctx);
      expect(Date.now() - started).toBeLessThan(500 + 400 + 1000);
      expect(result.outcome).toBe('no-data');
      // Every request that fell due is accounted for: sent late and timed out, or never sent.
      expect(result.measurements.requests).toBe(100);
      expect(result.measurements.late).toBeGreaterThan(50);
      expect(result.measurements.successes).toBe(0);
      expect(result.message).toContain('no data');
    } finally {
      await shut(hung);
    }
  });
});

describe('load check without a single success', () => {
  let failing: Target;

  beforeAll(async () => {
    failing = await serve((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
  });

  afterAll(async () => {
    await shut(failing);
  });

  it.each([
    ['a fixed rate', { rate: 20 }],
    ['a fixed concurrency', { concurrency: 2 }],
  ])('reports "no data", never a pass, when every request to a closed port fails at %s, even with a 100%% error allowance', async (_mode, load) => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    const result = await runLoadCheck(spec(url, { ...load, duration: 500, thresholds: { maxErrorRate: 1 } }), context());
    expect(result.outcome).toBe('no-data');
    expect(result.message).toMatch(/no data: all \d+ requests failed \(connection refused\); nothing was measured$/);
    expect(result.assertions.length).toBeGreaterThan(0);
    expect(result.assertions.some((a) => a.passed)).toBe(false);
  });

  it('reports "no data" when every answer has an unexpected status, whatever the thresholds allow', async () => {
    const result = await runLoadCheck(spec(failing.url, { rate: 20, duration: 500, thresholds: { maxErrorRate: 1 } }), context());
    expect(result.outcome).toBe('no-data');
    expect(result.message).toMatch(/no data: all 10 requests failed \(status 500\); nothing was measured$/);
  });
});

describe('load check against hostile targets', () => {
  // The first-byte timeout is far above the total: the total must still bound every request, and be the one blamed.
  const timeouts = { connect: 1000, firstByte: 10_000, total: 1000 };
  const bound = 1000 + timeouts.total + 1000;
  const targets: Array<[string, () => Promise<Hostile>]> = [
    ['accepts connections but never answers', () => hostileHttp(() => {})],
    ['accepts TCP connections but never reads or writes', silentTcp],
    [
      'answers after 3 s',
      () =>
        hostileHttp((_req, res) => {
          const timer = setTimeout(() => res.end('late'), 3000);
          res.on('close', () => clearTimeout(timer));
        }),
    ],
    [
      'sends headers, then trickles the body a byte every 100 ms',
      () =>
        hostileHttp((_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const timer = setInterval(() => res.write('x'), 100);
          res.on('close', () => clearInterval(timer));
        }),
    ],
    ['closes every connection as soon as a request arrives', () => hostileHttp((req) => req.socket.destroy())],
  ];
  const modes: Array<[string, Partial<LoadCheckSpec>]> = [
    ['at a fixed rate', { rate: 20 }],
    ['at a fixed concurrency', { concurrency: 4 }],
  ];
  const cases = targets.flatMap(([behaviour, start]) => modes.map(([mode, load]) => [behaviour, mode, start, load] as const));

  it.each(cases)('ends within duration + total timeout + 1 s against a target that %s, %s', async (behaviour, _mode, start, load) => {
    const target = await start();
    try {
      const started = performance.now();
      const result = await runLoadCheck(spec(target.url, { ...load, duration: 1000, thresholds: { maxErrorRate: 1 } }), { ...context(), timeouts });
      expect(performance.now() - started).toBeLessThan(bound);
      expect(result.outcome).toBe('no-data');
      expect(result.measurements.successes).toBe(0);
      if (!behaviour.startsWith('closes')) {
        expect((result.details!.errors as Array<{ cause: string }>).map((e) => e.cause)).toContain('no complete response within the total timeout of 1 s');
      }
    } finally {
      await target.close();
    }
  }, 10_000);
});

describe('load check limits and modes', () => {
  it('rejects rate, concurrency, connections and duration above their maxima in the config, with readable messages', () => {
    const text = [
      'version: 1',
      'environments: { prod: {} }',
      'checks:',
      '  - name: big',
      '    type: load',
      '    url: http://127.0.0.1/',
      '    rate: 1000000',
      '    concurrency: 100000',
      '    connections: 100000',
      '    duration: 15m',
      '',
    ].join('\n');
    const result = parseConfig(text, 'rollgate.yml', { env: {}, secrets: new Secrets() });
    if (result.ok) throw new Error('expected problems');
    const byPath = Object.fromEntries(result.problems.map((p) => [p.path, p.message]));
    expect(byPath).toMatchObject({
      'checks.0.rate': expect.stringContaining('expected at most 50000'),
      'checks.0.concurrency': expect.stringContaining('expected at most 5000'),
      'checks.0.connections': expect.stringContaining('expected at most 1000'),
      'checks.0.duration': 'load duration of 15 min (900000 ms) is too long (expected at most 10m)',
    });
  });

  it('accepts values at the maxima, the same ones the generator enforces', () => {
    const parsed = LoadCheck.parse({
      name: 'max',
      type: 'load',
      url: 'http://127.0.0.1/',
      rate: LOAD_LIMITS.rate,
      concurrency: LOAD_LIMITS.concurrency,
      connections: LOAD_LIMITS.connections,
      duration: '10m',
    });
    expect(parsed.duration).toBe(LOAD_LIMITS.durationMs);
  });

  it.each([
    [{ rate: 1_000_000 }, /rate 1000000 is out of range \(expected above 0 and at most 50000 requests per second\)/],
    [{ concurrency: 100_000 }, /concurrency 100000 is out of range \(expected a whole number from 1 to 5000\)/],
    [{ connections: 100_000 }, /connections 100000 is out of range \(expected a whole number from 1 to 1000\)/],
    [{ concurrency: 2.5 }, /concurrency 2.5 is out of range/],
    [{ rate: 10, duration: 3_600_000 }, /duration 60 min is above the maximum of 10 min/],
  ])('refuses %j from a spec built in code, without sending anything', async (fields, message) => {
    let hits = 0;
    const target = await serve((_req, res) => {
      hits++;
      res.end();
    });
    try {
      const result = await runLoadCheck(spec(target.url, fields as Partial<LoadCheckSpec>), context());
      expect(result.outcome).toBe('error');
      expect(result.message).toMatch(message);
      expect(hits).toBe(0);
    } finally {
      await shut(target);
    }
  });

  it('caps requests in flight at the concurrency when a rate and a concurrency are both set', async () => {
    const target = await counting(50);
    try {
      const result = await runLoadCheck(spec(target.url, { rate: 200, concurrency: 3, duration: 500 }), context());
      expect(target.maxInFlight()).toBeLessThanOrEqual(3);
      expect(result.details).toMatchObject({ mode: 'fixed-rate', targetRate: 200, maxInFlight: 3, connections: 3 });
      expect(result.measurements.late).toBeGreaterThan(0);
    } finally {
      await shut(target);
    }
  });

  it('runs 10 workers at a fixed concurrency when neither rate nor concurrency is set', async () => {
    const target = await counting(20);
    try {
      const result = await runLoadCheck(spec(target.url, { duration: 300 }), context());
      expect(result.outcome).toBe('pass');
      expect(result.details).toMatchObject({ mode: 'fixed-concurrency', concurrency: 10, connections: 10 });
      expect(target.maxInFlight()).toBe(10);
    } finally {
      await shut(target);
    }
  });

  it('opens no more connections than there are requests in flight', async () => {
    const target = await counting(10);
    try {
      const result = await runLoadCheck(spec(target.url, { concurrency: 2, connections: 50, duration: 300 }), context());
      expect(result.details).toMatchObject({ connections: 2 });
      expect(target.sockets()).toBeLessThanOrEqual(2);
    } finally {
      await shut(target);
    }
  });
});

describe('load check when the process runs out of file descriptors', () => {
  const loadModule = fileURLToPath(new URL('../../packages/checks/kinds/load.ts', import.meta.url));
  // Runs in a child whose descriptor limit is 64, so that most of the 200 connections cannot be opened.
  const CHILD = `
    const { runLoadCheck } = await import(process.env.LOAD_MODULE);
    const started = performance.now();
    const result = await runLoadCheck(JSON.parse(process.env.SPEC), {
      signal: new AbortController().signal,
      timeouts: { connect: 1000, firstByte: 1000, total: 1000 },
      log: { debug() {}, info() {}, warning() {} },
      clock: { now: Date.now, sleep: async () => {} },
      baseDir: '.',
    });
    console.log(JSON.stringify({ elapsedMs: performance.now() - started, result }));
  `;

  async function runLimited(fields: Partial<LoadCheckSpec>, url: string): Promise<{ elapsedMs: number; result: Awaited<ReturnType<typeof runLoadCheck>> }> {
    const child = spawn('bash', ['-c', 'ulimit -n 64 && exec "$NODE" --import tsx --input-type=module -e "$CHILD"'], {
      env: { ...process.env, NODE: process.execPath, CHILD, LOAD_MODULE: loadModule, SPEC: JSON.stringify(spec(url, fields)) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`child exited with ${code}: ${err}`);
    return JSON.parse(out) as { elapsedMs: number; result: Awaited<ReturnType<typeof runLoadCheck>> };
  }

  let target: Target;
  beforeAll(async () => {
    target = await serve((_req, res) => setTimeout(() => res.end('ok'), 20));
  });
  afterAll(async () => {
    await shut(target);
  });

  it.each([
    ['a fixed concurrency', { concurrency: 200, connections: 200 }],
    ['a fixed rate', { rate: 5000, connections: 200 }],
  ])('stops opening sockets, counts each refusal once and ends on time at %s', async (_mode, fields) => {
    const { elapsedMs, result } = await runLimited({ ...fields, duration: 1000 }, target.url);
    expect(elapsedMs).toBeLessThan(1000 + 1000 + 1000);
    expect(result.outcome).toBe('error');
    expect(result.message).toMatch(/only \d+ of 200 (workers|connections) could open a socket: this process ran out of file descriptors \(EMFILE\)/);
    const refused = result.details!.socketsRefused as number;
    expect(refused).toBeGreaterThan(0);
    const emfile = (result.details!.errors as Array<{ cause: string; count: number }>).find((e) => e.cause.includes('EMFILE'))!;
    // One error per connection given up, not one per attempt: the generator does not keep retrying the OS.
    expect(emfile.count).toBe(refused);
    expect(result.measurements.successes).toBeGreaterThan(0);
  }, 15_000);
});
