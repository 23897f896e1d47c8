import { afterEach, describe, expect, it } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runChecks } from '../../packages/checks/runner.js';
import { closeHttpAgents } from '../../packages/checks/http-client.js';
import { defaultSettings, type ResolvedSettings } from '../../packages/config/plan.js';
import type { CheckSpec } from '../../packages/config/schema.js';
import type { AttemptResult, Logger } from '../../packages/checks/model.js';
import { Secrets } from '../../packages/config/secrets.js';
import { closedPort, startHttpServer, type TestServer } from '../support/servers.js';

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: (m) => lines.push(m), info: (m) => lines.push(m), warning: (m) => lines.push(m) };
}

function settings(overrides: Partial<ResolvedSettings> = {}): ResolvedSettings {
  return { ...defaultSettings(), ...overrides };
}

const servers: TestServer[] = [];
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = await startHttpServer(handler);
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await closeHttpAgents();
});

describe('retries', () => {
  it('passes on the fourth attempt when the target answers 404 three times then 200, and logs all four', async () => {
    let calls = 0;
    const server = await serve((_req, res) => {
      calls++;
      res.writeHead(calls <= 3 ? 404 : 200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
    const log = recordingLog();
    const check: CheckSpec = { name: 'health', type: 'http', url: `${server.url}/health`, retries: { attempts: 5, delay: 1000 } };
    const started = Date.now();
    const run = await runChecks({ checks: [check], settings: settings() }, { log, baseDir: '.' });
    const elapsed = Date.now() - started;
    const result = run.results[0]!;
    expect(result.outcome).toBe('pass');
    expect(result.attempts.map((a) => a.outcome)).toEqual(['fail', 'fail', 'fail', 'pass']);
    expect(result.attempts.map((a) => a.status)).toEqual([404, 404, 404, 200]);
    expect(calls).toBe(4);
    const attemptLines = log.lines.filter((l) => l.startsWith('[health] attempt'));
    expect(attemptLines).toHaveLength(4);
    expect(attemptLines[0]).toMatch(/attempt 1\/5: fail .*404.*retrying in 1 s/);
    expect(attemptLines[3]).toMatch(/attempt 4\/5: pass/);
    // Three waits of one second each between the four attempts.
    expect(elapsed).toBeGreaterThanOrEqual(2900);
    expect(run.passed).toBe(true);
  });

  it('waits as long as a 429 Retry-After asks before the next attempt, up to maxDelay', async () => {
    let calls = 0;
    const server = await serve((_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(429, { 'retry-after': '1' }).end('slow down');
      else res.writeHead(200).end('ok');
    });
    const log = recordingLog();
    const started = Date.now();
    const check: CheckSpec = { name: 'r', type: 'http', url: server.url, retries: { attempts: 3, delay: 10 } };
    const run = await runChecks({ checks: [check], settings: settings() }, { log, baseDir: '.' });
    expect(run.results[0]!.outcome).toBe('pass');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(log.lines.join('\n')).toContain('retrying in 1 s (the server asked for 1 s)');
  });

  it('retries only the statuses listed in onStatus', async () => {
    let calls = 0;
    const server = await serve((_req, res) => {
      calls++;
      res.writeHead(500).end();
    });
    const check: CheckSpec = { name: 'x', type: 'http', url: server.url, retries: { attempts: 4, delay: 10, onStatus: [503] } };
    const run = await runChecks({ checks: [check], settings: settings() }, { log: recordingLog(), baseDir: '.' });
    expect(run.results[0]!.outcome).toBe('fail');
    expect(calls).toBe(1);
  });

  it('grows the delay by the backoff factor up to maxDelay', async () => {
    const server = await serve((_req, res) => res.writeHead(503).end());
    const log = recordingLog();
    const check: CheckSpec = { name: 'b', type: 'http', url: server.url, retries: { attempts: 4, delay: 50, backoff: 3, maxDelay: 200 } };
    await runChecks({ checks: [check], settings: settings() }, { log, baseDir: '.' });
    const delays = log.lines.map((l) => /retrying in (\d+) ms/.exec(l)?.[1]).filter(Boolean);
    expect(delays).toEqual(['50', '150', '200']);
  });
});

describe('checks that run for a set time', () => {
  it('does not repeat a failed load test even when retries are configured', async () => {
    let runs = 0;
    const failingLoad = async (): Promise<AttemptResult> => {
      runs++;
      return { outcome: 'fail', message: 'p95 420 ms > 100 ms', assertions: [], measurements: { p95_ms: 420 } };
    };
    const check: CheckSpec = { name: 'load', type: 'load', url: 'http://127.0.0.1:9/', duration: 100, retries: { attempts: 3, delay: 1 } };
    const run = await runChecks({ checks: [check], settings: settings() }, { log: recordingLog(), baseDir: '.', executors: { load: failingLoad } });
    expect(runs).toBe(1);
    expect(run.results[0]!.outcome).toBe('fail');
  });

  it('keeps what a load test measured before the run deadline stopped it', async () => {
    const honoursSignal = (_spec: unknown, ctx: { signal: AbortSignal }) =>
      new Promise<AttemptResult>((resolve) => {
        ctx.signal.addEventListener('abort', () =>
          setTimeout(() => resolve({ outcome: 'error', errorKind: 'deadline', message: 'stopped by deadline; 120 requests measured', assertions: [], measurements: { requests: 120 } }), 50),
        );
      });
    const check: CheckSpec = { name: 'load', type: 'load', url: 'http://127.0.0.1:9/', duration: 60_000 };
    const run = await runChecks(
      { checks: [check], settings: settings({ deadlineMs: 200 }) },
      { log: recordingLog(), baseDir: '.', executors: { load: honoursSignal as never } },
    );
    expect(run.results[0]!.outcome).toBe('error');
    expect(run.results[0]!.measurements.requests).toBe(120);
    expect(run.results[0]!.message).toContain('120 requests measured');
  });
});

describe('circuit breaker per target', () => {
  it('stops attempting a dead target after the configured consecutive failures, so it fails fast', async () => {
    const port = await closedPort();
    const checks: CheckSpec[] = Array.from({ length: 6 }, (_, i) => ({
      name: `dead ${i}`,
      type: 'http' as const,
      url: `http://127.0.0.1:${port}/x${i}`,
      retries: { attempts: 3, delay: 1 },
    }));
    const run = await runChecks(
      { checks, settings: settings({ concurrency: 1, breaker: { failures: 2, halfOpenAfterMs: 60_000 } }) },
      { log: recordingLog(), baseDir: '.' },
    );
    expect(run.passed).toBe(false);
    expect(run.results.every((r) => r.outcome === 'error')).toBe(true);
    const kinds = run.results.flatMap((r) => r.attempts.map((a) => a.errorKind));
    expect(kinds.filter((k) => k === 'connect')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'breaker-open').length).toBeGreaterThanOrEqual(5);
    // The cause worth reading survives: the last real failure, then why no more attempts were made.
    expect(run.results[0]!.message).toMatch(/connection refused.*circuit breaker opened/);
    expect(run.results[1]!.message).toMatch(/not attempted: .*circuit breaker/);
  });

  it('does not trip the breaker on HTTP error statuses: the target is alive', async () => {
    const server = await serve((_req, res) => res.writeHead(500).end());
    const checks: CheckSpec[] = Array.from({ length: 5 }, (_, i) => ({ name: `c${i}`, type: 'http' as const, url: server.url }));
    const run = await runChecks({ checks, settings: settings({ concurrency: 1, breaker: { failures: 2, halfOpenAfterMs: 60_000 } }) }, { log: recordingLog(), baseDir: '.' });
    expect(run.results.map((r) => r.attempts[0]!.status)).toEqual([500, 500, 500, 500, 500]);
  });
});

describe('deadline and pool', () => {
  it('reports checks that the run deadline cut off as errors, never as passed', async () => {
    const server = await serve((_req, res) => setTimeout(() => res.writeHead(200).end('ok'), 400));
    const checks: CheckSpec[] = Array.from({ length: 4 }, (_, i) => ({ name: `slow ${i}`, type: 'http' as const, url: server.url }));
    const run = await runChecks({ checks, settings: settings({ concurrency: 1, deadlineMs: 600 }) }, { log: recordingLog(), baseDir: '.' });
    expect(run.passed).toBe(false);
    expect(run.results[0]!.outcome).toBe('pass');
    const cut = run.results.filter((r) => r.outcome !== 'pass');
    expect(cut.length).toBeGreaterThanOrEqual(2);
    for (const r of cut) {
      expect(r.outcome).toBe('error');
      expect(r.message).toMatch(/deadline/);
    }
  });

  it('never runs more checks at once than the configured concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const server = await serve((_req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200).end('ok');
      }, 50);
    });
    const checks: CheckSpec[] = Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, type: 'http' as const, url: `${server.url}/${i}` }));
    const run = await runChecks({ checks, settings: settings({ concurrency: 4 }) }, { log: recordingLog(), baseDir: '.' });
    expect(run.passed).toBe(true);
    expect(peak).toBe(4);
  });

  it('turns an executor that never settles into a timed-out attempt instead of hanging', async () => {
    const hang = () => new Promise<AttemptResult>(() => undefined);
    const check: CheckSpec = { name: 'stuck', type: 'http', url: 'http://127.0.0.1:9/', timeouts: { total: 200 } };
    const started = Date.now();
    const run = await runChecks({ checks: [check], settings: settings() }, { log: recordingLog(), baseDir: '.', executors: { http: hang } });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(run.results[0]!.outcome).toBe('error');
    expect(run.results[0]!.attempts[0]!.errorKind).toBe('timeout');
  });

  it('reports an executor crash as an error of that check and runs the others', async () => {
    const crash = async (): Promise<AttemptResult> => {
      throw new Error('kaboom');
    };
    const server = await serve((_req, res) => res.writeHead(200).end('ok'));
    const run = await runChecks(
      { checks: [{ name: 'a', type: 'tls', url: 'x:1' }, { name: 'b', type: 'http', url: server.url }], settings: settings() },
      { log: recordingLog(), baseDir: '.', executors: { tls: crash } },
    );
    expect(run.results.map((r) => r.outcome)).toEqual(['error', 'pass']);
    expect(run.results[0]!.message).toContain('kaboom');
  });

  it('fails a run of optional checks that all failed: nothing was verified', async () => {
    const port = await closedPort();
    const checks: CheckSpec[] = [{ name: 'o', type: 'http', url: `http://127.0.0.1:${port}/`, optional: true }];
    const run = await runChecks({ checks, settings: settings() }, { log: recordingLog(), baseDir: '.' });
    expect(run.passed).toBe(false);
  });

  it('fails an empty run: no checks means nothing was verified', async () => {
    const run = await runChecks({ checks: [], settings: settings() }, { log: recordingLog(), baseDir: '.' });
    expect(run.passed).toBe(false);
  });
});

describe('targets in results', () => {
  it('shows that a URL has a query without showing the query', async () => {
    const server = await serve((_req, res) => res.writeHead(200).end('ok'));
    const run = await runChecks(
      { checks: [{ name: 'q', type: 'http', url: `${server.url}/x?token=abc123secret` }], settings: settings() },
      { log: recordingLog(), baseDir: '.' },
    );
    expect(run.results[0]!.target).toBe(`${server.url}/x?…`);
  });
});

describe('secrets in results', () => {
  it('masks registered secrets in messages, attempts and details', async () => {
    const secrets = new Secrets();
    secrets.add('s3cr3t-token-value');
    const leaky = async (): Promise<AttemptResult> => ({
      outcome: 'fail',
      message: 'server said s3cr3t-token-value',
      assertions: [{ expectation: 'x', passed: false, observed: 'got s3cr3t-token-value' }],
      measurements: {},
      details: { echo: 'Bearer s3cr3t-token-value' },
    });
    const run = await runChecks(
      { checks: [{ name: 'a', type: 'http', url: 'http://127.0.0.1:9/' }], settings: settings() },
      { log: recordingLog(), baseDir: '.', executors: { http: leaky }, secrets },
    );
    expect(JSON.stringify(run.results)).not.toContain('s3cr3t-token-value');
  });
});
