import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCircuitBreakerCheck } from '../../packages/checks/kinds/circuit-breaker.js';
import { systemClock, type AttemptContext, type Logger } from '../../packages/checks/model.js';
import type { CircuitBreakerCheckSpec } from '../../packages/config/schema.js';
import { statusServices } from '../support/status-service.js';
import type { StatusServiceOptions } from '../../examples/status-service/server.js';

// Small breaker settings keep each scenario to a second or two: 150 ms dependency timeout, opens after 2 failures,
// half-open after 400 ms.
const FAST: StatusServiceOptions = { dependencyTimeoutMs: 150, breaker: { failures: 2, halfOpenAfterMs: 400 } };

const service = statusServices(FAST);

const plainServers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    plainServers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

function spec(base: string, extra: Partial<CircuitBreakerCheckSpec> = {}): CircuitBreakerCheckSpec {
  return {
    name: 'breaker',
    type: 'circuit-breaker',
    url: `${base}/api/v1/dependency`,
    faultOn: { url: '/admin/faults', method: 'POST', body: { dependencyDown: true } },
    faultOff: { url: '/admin/faults', method: 'POST', body: { dependencyDown: false } },
    openWithin: 5,
    fastFailLatency: 100,
    resetWithin: 5_000,
    ...extra,
  };
}

function context(signal: AbortSignal = new AbortController().signal): AttemptContext & { lines: string[] } {
  const lines: string[] = [];
  const log: Logger = {
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warning: (m) => lines.push(`warning ${m}`),
  };
  return { signal, timeouts: { connect: 1_000, firstByte: 2_000, total: 2_000 }, log, clock: systemClock, baseDir: process.cwd(), lines };
}

describe('circuit-breaker check', () => {
  it('passes against the example service and reports when the breaker opened and how fast it recovered', async () => {
    const svc = await service();
    const result = await runCircuitBreakerCheck(spec(svc.url), context());

    expect(result.outcome).toBe('pass');
    expect(result.message).toMatch(/^breaker opened at call 3 \(503 Service Unavailable in \d+(\.\d)? ms\) and the service recovered/);
    // Two slow failures open the breaker; the third call is the first fast one.
    expect(result.measurements.calls_to_open).toBe(3);
    expect(result.measurements.fast_fail_ms).toBeLessThan(100);
    expect(result.measurements.recovery_ms).toBeLessThan(5_000);
    expect(result.assertions.every((a) => a.passed)).toBe(true);
    expect(result.assertions.map((a) => a.expectation)).toEqual([
      'baseline call succeeds (2xx)',
      'fault switched on (faultOn answers 2xx)',
      'breaker opens within 5 calls (503 in under 100 ms)',
      'fault switched off (faultOff answers 2xx)',
      'call succeeds again within 5 s after the fault is off',
    ]);
    expect(svc.switches().dependencyDown).toBe(false);
    expect(svc.breakerState()).toBe('closed');
  });

  it('fails against a service without a breaker, quoting the slow calls it saw', async () => {
    const svc = await service({ dependencyTimeoutMs: 150, breaker: false });
    const result = await runCircuitBreakerCheck(spec(svc.url, { openWithin: 4 }), context());

    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/^the breaker did not open: none of 4 calls to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/dependency failed fast with 503 in under 100 ms/);
    expect(result.message).toContain('call 1: 504 Gateway Timeout in');
    expect(result.message).toContain('call 4: 504 Gateway Timeout in');
    expect(result.measurements.calls_to_open).toBeUndefined();
    const opens = result.assertions.find((a) => a.expectation.startsWith('breaker opens'));
    expect(opens?.passed).toBe(false);
    // The fault was still switched off, and the service answers again.
    expect(svc.switches().dependencyDown).toBe(false);
    expect(result.assertions.find((a) => a.expectation.startsWith('fault switched off'))?.passed).toBe(true);
  });

  it('does not count a slow failure with the open status as a fast failure', async () => {
    // A server that answers 503 but only after 300 ms: the right status, far too slow to be a breaker.
    let down = false;
    const slow503 = await plainServer((req, res) => {
      if (req.url === '/admin/on') down = true;
      if (req.url === '/admin/off') down = false;
      if (req.url?.startsWith('/admin') || !down) return void res.end('{"ok":true}');
      setTimeout(() => {
        res.statusCode = 503;
        res.end('{"error":"slow"}');
      }, 300);
    });
    const result = await runCircuitBreakerCheck(
      spec(slow503.url, { openWithin: 2, faultOn: { url: '/admin/on', method: 'POST' }, faultOff: { url: '/admin/off', method: 'POST' } }),
      context(),
    );

    expect(result.outcome).toBe('fail');
    expect(result.message).toContain('the breaker did not open');
    expect(result.message).toMatch(/call 1: 503 Service Unavailable in 3\d\d ms/);
  });

  it('fails on the baseline when the call does not succeed before any fault is switched on, and sends no fault', async () => {
    const svc = await service({ ...FAST, switches: { dependencyDown: true } });
    const result = await runCircuitBreakerCheck(spec(svc.url), context());

    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/^baseline call GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/dependency answered 504 Gateway Timeout in .* before any fault was switched on/);
    expect(result.assertions).toHaveLength(1);
    // Nothing was switched: the service keeps the state it had.
    expect(svc.switches().dependencyDown).toBe(true);
  });

  it('reports a target that is not listening as an error with its transport kind', async () => {
    const svc = await service();
    const url = svc.url;
    await svc.close();
    const result = await runCircuitBreakerCheck(spec(url), context());

    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('connect');
    expect(result.message).toContain('baseline call failed before any fault was switched on');
    expect(result.message).toContain('connection refused');
  });

  it('fails when the fault cannot be switched on and still sends the switch-off request', async () => {
    const svc = await service();
    const result = await runCircuitBreakerCheck(
      spec(svc.url, { faultOn: { url: '/admin/no-such-switch', method: 'POST', body: { dependencyDown: true } } }),
      context(),
    );

    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/^could not switch the fault on: POST http:\/\/127\.0\.0\.1:\d+\/admin\/no-such-switch answered 404 Not Found/);
    expect(result.assertions.find((a) => a.expectation.startsWith('fault switched off'))?.passed).toBe(true);
  });

  it('fails when the service does not recover within resetWithin, naming the last answer', async () => {
    const svc = await service({ dependencyTimeoutMs: 150, breaker: { failures: 2, halfOpenAfterMs: 3_000 } });
    const result = await runCircuitBreakerCheck(spec(svc.url, { resetWithin: 600 }), context());

    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/^the service did not recover within 600 ms after the fault was switched off: \d+ calls, the last answered 503 Service Unavailable/);
    expect(result.measurements.calls_to_open).toBe(3);
    expect(result.measurements.recovery_ms).toBeUndefined();
  });

  it('switches the fault off even when the run deadline stops it half way', async () => {
    const svc = await service({ dependencyTimeoutMs: 400, breaker: false });
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(), 700);
    const result = await runCircuitBreakerCheck(spec(svc.url, { openWithin: 10 }), context(deadline.signal));

    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('deadline');
    expect(result.message).toMatch(/^stopped during call \d+ while waiting for the breaker to open because the run deadline passed; the fault was switched off again$/);
    expect(svc.switches().dependencyDown).toBe(false);
  });

  it('never shows a secret header value in its results or logs, even where it reappears in a URL', async () => {
    const svc = await service({ ...FAST, adminToken: 'admin-secret-value' });
    const auth = { Authorization: { value: 'Bearer admin-secret-value', secret: true } };
    const ctx = context();
    const result = await runCircuitBreakerCheck(
      spec(svc.url, {
        faultOn: { url: '/admin/faults', method: 'POST', headers: auth, body: { dependencyDown: true } },
        faultOff: { url: '/admin/faults?echo=Bearer%20admin-secret-value', method: 'POST', headers: auth, body: { dependencyDown: false } },
      }),
      ctx,
    );

    expect(result.outcome).toBe('pass');
    expect(JSON.stringify(result)).not.toContain('admin-secret-value');
    expect(ctx.lines.join('\n')).not.toContain('admin-secret-value');
  });
});

async function plainServer(handler: Parameters<typeof createServer>[1]): Promise<Server & { url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  plainServers.push(server);
  return Object.assign(server, { url });
}
