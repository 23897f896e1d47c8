/**
 * The `circuit-breaker` check validates the service's own breaker, in four stages:
 *   1. baseline: the call through the breaker succeeds (2xx) before anything is switched;
 *   2. the dependency fault is switched on (`faultOn`);
 *   3. the call is repeated until it fails fast (`openStatus` in under `fastFailLatency`), at most `openWithin` times;
 *   4. the fault is switched off (`faultOff`, always, even after a failure or an abort) and the call is polled until it
 *      succeeds again, within `resetWithin`.
 * One attempt only; the runner owns retries and the run deadline.
 */
import type { CircuitBreakerCheckSpec, HeadersSpec } from '../../config/schema.js';
import { formatDuration } from '../../config/duration.js';
import { redactUrlCredentials } from '../../config/secrets.js';
import { httpRequest, TransportError, type HttpResponse } from '../http-client.js';
import type { Assertion, AttemptContext, AttemptResult, CheckExecutor, ResolvedTimeouts } from '../model.js';
import { describeStatus, describeStatusExpectation, statusMatches } from '../status.js';
import { encodeBody, redactAttempt, redactorFor, resolveHeaders } from './http.js';

const DEFAULT_OPEN_WITHIN = 10;
const DEFAULT_OPEN_STATUS = 503;
const DEFAULT_FAST_FAIL_MS = 100;
const DEFAULT_RESET_WITHIN_MS = 30_000;
/** A single call never waits longer than this, whatever the total timeout says: a hung call only proves "not fast". */
const MAX_CALL_MS = 10_000;
/** The fault switches get their own budget: switching off must work even after the run deadline has passed. */
const SWITCH_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 250;
/** How many calls are quoted in a message before the list is shortened. */
const QUOTED_CALLS = 8;

interface PreparedRequest {
  label: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

type CallOutcome = { ok: true; res: HttpResponse } | { ok: false; error: TransportError; ms: number };

interface CallRecord {
  call: number;
  status?: number;
  ms: number;
  error?: string;
}

export const runCircuitBreakerCheck: CheckExecutor<CircuitBreakerCheckSpec> = async (spec, ctx) => {
  const secretValues: string[] = [];
  const prepare = (label: string, url: string, method: string | undefined, headers: HeadersSpec | undefined, body: unknown): PreparedRequest => {
    const resolved = resolveHeaders(headers);
    secretValues.push(...resolved.secretValues);
    const encoded = encodeBody(body, resolved.headers);
    return {
      label,
      url: new URL(url, spec.url).href,
      method: method ?? (encoded !== undefined ? 'POST' : 'GET'),
      headers: resolved.headers,
      ...(encoded !== undefined ? { body: encoded } : {}),
    };
  };
  const call = prepare('call', spec.url, spec.method, spec.headers, spec.body);
  const faultOn = prepare('faultOn', spec.faultOn.url, spec.faultOn.method, spec.faultOn.headers, spec.faultOn.body);
  const faultOff = prepare('faultOff', spec.faultOff.url, spec.faultOff.method, spec.faultOff.headers, spec.faultOff.body);
  const redact = redactorFor(secretValues);
  const debug = (line: string) => ctx.log.debug(redact(line));

  const openWithin = spec.openWithin ?? DEFAULT_OPEN_WITHIN;
  const openStatus = spec.openStatus ?? DEFAULT_OPEN_STATUS;
  const fastFailMs = spec.fastFailLatency ?? DEFAULT_FAST_FAIL_MS;
  const resetWithinMs = spec.resetWithin ?? DEFAULT_RESET_WITHIN_MS;
  const callTimeouts = capTimeouts(ctx.timeouts, MAX_CALL_MS);
  const expectOpen = `${describeStatusExpectation(openStatus)} in under ${formatDuration(fastFailMs)}`;

  const assertions: Assertion[] = [];
  const measurements: Record<string, number> = {};
  const calls: CallRecord[] = [];
  const details: Record<string, unknown> = { method: call.method, url: redactUrlCredentials(call.url), calls };
  const finish = (result: Omit<AttemptResult, 'assertions' | 'measurements' | 'details'>): AttemptResult =>
    redactAttempt({ ...result, assertions, measurements, details }, redact);

  // Stage 1: a healthy baseline, or nothing below means anything.
  const baseline = await send(call, callTimeouts, ctx.signal, ctx, debug);
  if (!baseline.ok) {
    if (ctx.signal.aborted) return finish(deadlineResult('the baseline call'));
    assertions.push({
      expectation: 'baseline call succeeds (2xx)',
      passed: false,
      observed: baseline.error.message,
      message: `baseline call failed before any fault was switched on: ${baseline.error.message}`,
    });
    return finish({ outcome: 'error', errorKind: baseline.error.kind, message: assertions[0]!.message! });
  }
  measurements.baseline_ms = round(baseline.res.totalMs);
  const baselinePassed = baseline.res.status >= 200 && baseline.res.status < 300;
  assertions.push({
    expectation: 'baseline call succeeds (2xx)',
    passed: baselinePassed,
    observed: describeResponse(baseline.res),
    ...(baselinePassed
      ? {}
      : {
          message:
            `baseline call ${call.method} ${redactUrlCredentials(call.url)} answered ${describeResponse(baseline.res)} before any fault was ` +
            'switched on; the check needs a healthy service to start from (is the fault still on from an earlier run?)',
        }),
  });
  if (!baselinePassed) return finish({ outcome: 'fail', status: baseline.res.status, message: assertions[0]!.message! });

  let openedAt: number | undefined;
  let aborted: string | undefined;
  let switchedOff = false;
  try {
    // Stage 2: switch the fault on.
    const on = await send(faultOn, capTimeouts(ctx.timeouts, SWITCH_TIMEOUT_MS), ctx.signal, ctx, debug);
    const onPassed = on.ok && on.res.status >= 200 && on.res.status < 300;
    if (!on.ok && ctx.signal.aborted) {
      aborted = 'switching the fault on';
    } else {
      assertions.push(switchAssertion('fault switched on', faultOn, on, onPassed));
    }

    // Stage 3: the breaker must start failing fast within `openWithin` calls.
    if (onPassed && !aborted) {
      ctx.log.info(`circuit-breaker: fault on; calling until a call fails fast (${expectOpen}), at most ${openWithin} calls`);
      for (let n = 1; n <= openWithin; n++) {
        if (ctx.signal.aborted) {
          aborted = `call ${n} while waiting for the breaker to open`;
          break;
        }
        const outcome = await send(call, callTimeouts, ctx.signal, ctx, debug);
        if (!outcome.ok && ctx.signal.aborted) {
          aborted = `call ${n} while waiting for the breaker to open`;
          break;
        }
        calls.push(outcome.ok ? { call: n, status: outcome.res.status, ms: round(outcome.res.totalMs) } : { call: n, ms: round(outcome.ms), error: outcome.error.message });
        if (outcome.ok && statusMatches(outcome.res.status, openStatus) && outcome.res.totalMs < fastFailMs) {
          openedAt = n;
          measurements.calls_to_open = n;
          measurements.fast_fail_ms = round(outcome.res.totalMs);
          break;
        }
      }
      if (!aborted) {
        const opened = openedAt !== undefined;
        const fast = calls[calls.length - 1];
        assertions.push({
          expectation: `breaker opens within ${openWithin} calls (${expectOpen})`,
          passed: opened,
          observed: opened ? `failed fast at call ${openedAt}: ${describeRecord(fast!)}` : quoteCalls(calls),
          ...(opened
            ? {}
            : {
                message:
                  `the breaker did not open: none of ${calls.length} calls to ${redactUrlCredentials(call.url)} failed fast with ` +
                  `${expectOpen} (${quoteCalls(calls)}); check that the service has a circuit breaker around this dependency, ` +
                  'that its failure threshold is below openWithin, and that the fault request really breaks the dependency',
              }),
        });
      }
    }
  } finally {
    // Stage 4a: whatever happened above, the fault goes off again. Not tied to the run deadline on purpose.
    const off = await send(faultOff, capTimeouts(ctx.timeouts, SWITCH_TIMEOUT_MS), undefined, ctx, debug);
    switchedOff = off.ok && off.res.status >= 200 && off.res.status < 300;
    assertions.push(switchAssertion('fault switched off', faultOff, off, switchedOff));
    if (!switchedOff) {
      ctx.log.warning(
        redact(`circuit-breaker: could not switch the fault off (${faultOff.method} ${redactUrlCredentials(faultOff.url)}); the service may still be failing`),
      );
    }
  }

  // Stage 4b: the service must recover within its reset window.
  if (!aborted && switchedOff) {
    ctx.log.info(`circuit-breaker: fault off; waiting up to ${formatDuration(resetWithinMs)} for a successful call`);
    const recovery = await pollRecovery(call, callTimeouts, resetWithinMs, ctx, debug);
    details.recovery_polls = recovery.polls;
    if (recovery.aborted) {
      aborted = 'waiting for recovery';
    } else {
      if (recovery.recoveredMs !== undefined) measurements.recovery_ms = round(recovery.recoveredMs);
      const recovered = recovery.recoveredMs !== undefined;
      assertions.push({
        expectation: `call succeeds again within ${formatDuration(resetWithinMs)} after the fault is off`,
        passed: recovered,
        observed: recovered
          ? `recovered after ${formatDuration(recovery.recoveredMs!)} (${recovery.polls} calls)`
          : `still failing after ${formatDuration(resetWithinMs)} (${recovery.polls} calls; last: ${recovery.last})`,
        ...(recovered
          ? {}
          : {
              message:
                `the service did not recover within ${formatDuration(resetWithinMs)} after the fault was switched off: ` +
                `${recovery.polls} calls, the last answered ${recovery.last}; its breaker may stay open longer than resetWithin ` +
                '(compare with its half-open delay) or the fault is still on',
            }),
      });
    }
  }

  if (aborted) return finish(deadlineResult(aborted, switchedOff));
  const failed = assertions.filter((a) => !a.passed);
  if (failed.length > 0) {
    const more = failed.length > 1 ? ` (+${failed.length - 1} more)` : '';
    return finish({ outcome: 'fail', message: `${failed[0]!.message ?? `${failed[0]!.expectation} failed`}${more}` });
  }
  return finish({
    outcome: 'pass',
    message:
      `breaker opened at call ${openedAt} (${describeStatus(calls[calls.length - 1]!.status!)} in ${measurements.fast_fail_ms} ms) ` +
      `and the service recovered ${formatDuration(measurements.recovery_ms!)} after the fault was switched off`,
  });
};

/** Per-request timeouts for one call: the configured ones, none above `cap`. */
function capTimeouts(timeouts: ResolvedTimeouts, cap: number): ResolvedTimeouts {
  const total = Math.min(timeouts.total, cap);
  return { connect: Math.min(timeouts.connect, total), firstByte: Math.min(timeouts.firstByte, total), total };
}

async function send(
  req: PreparedRequest,
  timeouts: ResolvedTimeouts,
  signal: AbortSignal | undefined,
  ctx: AttemptContext,
  debug: (line: string) => void,
): Promise<CallOutcome> {
  const started = performance.now();
  try {
    const res = await httpRequest({
      url: req.url,
      method: req.method,
      headers: req.headers,
      ...(req.body !== undefined ? { body: req.body } : {}),
      timeouts,
      ...(signal ? { signal } : {}),
      ...(ctx.ca ? { ca: ctx.ca } : {}),
      maxBodyBytes: 64 * 1024,
    });
    debug(`circuit-breaker ${req.label}: ${req.method} ${redactUrlCredentials(req.url)} -> ${describeResponse(res)}`);
    return { ok: true, res };
  } catch (error) {
    const transport =
      error instanceof TransportError ? error : new TransportError('protocol', `${req.method} ${redactUrlCredentials(req.url)}: ${String(error)}`);
    debug(`circuit-breaker ${req.label}: ${req.method} ${redactUrlCredentials(req.url)} -> ${transport.message}`);
    return { ok: false, error: transport, ms: performance.now() - started };
  }
}

async function pollRecovery(
  call: PreparedRequest,
  timeouts: ResolvedTimeouts,
  resetWithinMs: number,
  ctx: AttemptContext,
  debug: (line: string) => void,
): Promise<{ recoveredMs?: number; polls: number; last: string; aborted: boolean }> {
  const started = ctx.clock.now();
  let polls = 0;
  let last = 'no call made';
  for (;;) {
    if (ctx.signal.aborted) return { polls, last, aborted: true };
    const remaining = started + resetWithinMs - ctx.clock.now();
    if (remaining <= 0) return { polls, last, aborted: false };
    const total = Math.max(1, Math.min(timeouts.total, remaining));
    const outcome = await send(call, { connect: Math.min(timeouts.connect, total), firstByte: Math.min(timeouts.firstByte, total), total }, ctx.signal, ctx, debug);
    polls += 1;
    if (!outcome.ok && ctx.signal.aborted) return { polls, last, aborted: true };
    if (outcome.ok && outcome.res.status >= 200 && outcome.res.status < 300) {
      return { recoveredMs: ctx.clock.now() - started, polls, last: describeResponse(outcome.res), aborted: false };
    }
    last = outcome.ok ? describeResponse(outcome.res) : outcome.error.message;
    const wait = Math.min(POLL_INTERVAL_MS, started + resetWithinMs - ctx.clock.now());
    if (wait > 0) await ctx.clock.sleep(wait, ctx.signal);
  }
}

function switchAssertion(what: string, req: PreparedRequest, outcome: CallOutcome, passed: boolean): Assertion {
  const where = `${req.method} ${redactUrlCredentials(req.url)}`;
  const observed = outcome.ok ? describeResponse(outcome.res) : outcome.error.message;
  return {
    expectation: `${what} (${req.label} answers 2xx)`,
    passed,
    observed,
    ...(passed
      ? {}
      : {
          message:
            req.label === 'faultOff'
              ? `could not switch the fault off: ${where} answered ${observed}; the service may still be failing, send that request by hand`
              : `could not switch the fault on: ${where} answered ${observed}; check the ${req.label} url, method, body and credentials`,
        }),
  };
}

function deadlineResult(during: string, switchedOff?: boolean): Omit<AttemptResult, 'assertions' | 'measurements' | 'details'> {
  const after =
    switchedOff === undefined ? '' : switchedOff ? '; the fault was switched off again' : '; switching the fault off FAILED, the service may still be failing';
  return { outcome: 'error', errorKind: 'deadline', message: `stopped during ${during} because the run deadline passed${after}` };
}

function describeResponse(res: HttpResponse): string {
  return `${describeStatus(res.status)} in ${formatDuration(res.totalMs)}`;
}

function describeRecord(record: CallRecord): string {
  return record.status !== undefined ? `${describeStatus(record.status)} in ${formatDuration(record.ms)}` : `${record.error} after ${formatDuration(record.ms)}`;
}

/** `call 1: 504 Gateway Timeout in 2 s, call 2: ...`, shortened in the middle when long. */
function quoteCalls(records: readonly CallRecord[]): string {
  if (records.length === 0) return 'no calls made';
  const quote = (r: CallRecord) => `call ${r.call}: ${describeRecord(r)}`;
  if (records.length <= QUOTED_CALLS) return records.map(quote).join(', ');
  const head = records.slice(0, QUOTED_CALLS - 2).map(quote);
  const tail = records.slice(-2).map(quote);
  return [...head, `... ${records.length - QUOTED_CALLS} more ...`, ...tail].join(', ');
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
