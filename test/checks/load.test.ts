import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { runLoadCheck } from '../../packages/checks/kinds/load.js';
import type { LoadCheckSpec } from '../../packages/config/schema.js';
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
    expect(result.message).toMatch(/no data: all \d+ requests failed \(connection refused\); p95 threshold cannot be judged/);
    expect(result.measurements.successes).toBe(0);
    expect(result.measurements.p95_ms).toBeUndefined();
    expect(result.assertions.find((a) => a.expectation.startsWith('p95'))).toMatchObject({ passed: false, observed: 'no data' });
  });

  it('never passes a closed port even at fixed concurrency without latency thresholds', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    const result = await runLoadCheck(spec(url, { concurrency: 2, duration: 300 }), context());
    expect(result.outcome).toBe('fail');
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

  it('stops promptly when its signal is aborted and reports what it measured', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const result = await runLoadCheck(spec(slow.url, { rate: 50, duration: 10_000 }), context(controller.signal));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('deadline');
    expect(result.message).toMatch(/stopped by deadline after \d+ ms of 10 s/);
    expect(result.measurements.requests).toBeGreaterThan(3);
  });

  it('times out requests that get no response headers at fixed concurrency and counts them as errors', async () => {
    const hung = await serve(() => {});
    try {
      const ctx = { ...context(), timeouts: { connect: 500, firstByte: 200, total: 1000 } };
      const started = Date.now();
      const result = await runLoadCheck(spec(hung.url, { concurrency: 2, duration: 500, thresholds: { maxErrorRate: 0.5 } }), ctx);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(result.outcome).toBe('fail');
      expect(result.measurements.successes).toBe(0);
      expect(result.measurements.errors).toBeGreaterThanOrEqual(2);
      expect(result.details!.errors).toEqual([
        expect.objectContaining({ cause: 'no response headers within the first-byte timeout', kind: 'timeout' }),
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
      expect(Date.now() - started).toBeLessThan(3000);
      expect(result.outcome).toBe('no-data');
      expect(result.measurements.not_sent).toBeGreaterThan(50);
      expect(result.measurements.requests).toBe(100);
      expect(result.message).toContain('no data');
    } finally {
      await shut(hung);
    }
  });
});
