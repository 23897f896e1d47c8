/**
 * The `load` check: drives one target at a fixed arrival rate or with a fixed number of requests in flight for a
 * duration, records latency in an HdrHistogram and judges the thresholds.
 *
 * Two ways of generating load, two ways of measuring:
 * - Fixed rate (open model). Request i is due at `start + i / rate`. Its latency is measured from that INTENDED start,
 *   not from the moment it was actually sent. If the target stalls, requests queue behind the stall (in undici's
 *   pool or behind our in-flight cap) and the time they spent waiting is counted, as a real user arriving on schedule
 *   would feel it. Measuring from the actual send time would hide the stall ("coordinated omission": the load
 *   generator politely stops sending while the target is slow, so the slow period produces almost no samples).
 * - Fixed concurrency (closed model). N workers each send, wait for the answer, send again. Latency is the service
 *   time of each request; a slow target lowers the throughput instead. No correction applies here.
 *
 * Only successful responses (expected status, complete body) become latency samples. Transport errors and unexpected
 * statuses count toward the error rate; a fast "connection refused" must never make p95 look good.
 *
 * Latency is real network time, so this module reads the monotonic `performance.now()` clock, not `ctx.clock`.
 */
import { rootCertificates } from 'node:tls';
import { Client, Pool, type Dispatcher } from 'undici';
// The pure-JS histogram class only: the package index also pulls in its WebAssembly build and pako (~400 KB of
// bundle) for encodings we never use.
import Int32HistogramModule from 'hdr-histogram-js/dist/Int32Histogram.js';
import type { Histogram } from 'hdr-histogram-js';

// CommonJS default export seen through ESM interop: the class is on `.default` under Node, the namespace itself under a bundler.
const Int32Histogram = ((Int32HistogramModule as unknown as { default?: typeof Int32HistogramModule }).default ?? Int32HistogramModule);

function newHistogram(): Histogram {
  const histogram = new Int32Histogram(1, 2, 3);
  histogram.autoResize = true;
  return histogram as unknown as Histogram;
}
import type { LoadCheckSpec, StatusExpectationSpec } from '../../config/schema.js';
import { formatDuration } from '../../config/duration.js';
import type { Assertion, AttemptContext, AttemptResult, CheckExecutor, ErrorKind } from '../model.js';
import { safeOrigin } from '../http-client.js';
import { describeStatusExpectation, statusMatches } from '../status.js';

/** Hard ceiling on requests in flight at a fixed rate, so a dead or stalled target cannot grow memory without bound. */
const MAX_IN_FLIGHT = 1000;
/** Default maximum error rate when the check sets none: a load test that mostly fails must not pass silently. */
const DEFAULT_MAX_ERROR_RATE = 0.01;
const PERCENTILES = [50, 75, 90, 95, 99, 99.9, 100] as const;

type Mode = 'fixed-rate' | 'fixed-concurrency';

interface LoadPlan {
  mode: Mode;
  target: string;
  origin: string;
  request: Dispatcher.DispatchOptions;
  durationMs: number;
  /** Requests per second (fixed rate only). */
  rate: number;
  /** Workers (fixed concurrency) or the in-flight cap (fixed rate). */
  concurrency: number;
  connections: number;
  /** okStatus[status] === 1 when the status is expected. */
  okStatus: Uint8Array;
  expectStatusText: string;
}

interface ErrorCause {
  kind: ErrorKind | 'status' | 'not-sent';
  count: number;
}

export const runLoadCheck: CheckExecutor<LoadCheckSpec> = async (spec, ctx) => {
  let plan: LoadPlan;
  try {
    plan = planLoad(spec);
  } catch (error) {
    return { outcome: 'error', message: (error as Error).message, assertions: [], measurements: {} };
  }
  if (ctx.signal.aborted) {
    return { outcome: 'error', errorKind: 'deadline', message: `${plan.target}: not started, the deadline had already passed`, assertions: [], measurements: {} };
  }
  const dispatchers = openDispatchers(plan, ctx);
  ctx.log.debug(
    `${plan.target}: ${plan.mode === 'fixed-rate' ? `${plan.rate} req/s` : `${plan.concurrency} in flight`} for ${formatDuration(plan.durationMs)} over ${plan.connections} connection(s)`,
  );
  const run = new LoadRun(dispatchers, plan);
  try {
    await run.execute(ctx);
  } finally {
    await Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined)));
  }
  return judge(spec, plan, run);
};

/**
 * Fixed rate: one Pool of `connections` sockets; requests beyond them wait in its queue (and that wait is measured).
 * Fixed concurrency: one Client (one socket) per connection, workers spread over them. When each client has exactly
 * one worker, at most one request is ever outstanding on it, so `pipelining: 2` never actually pipelines; it only lets
 * undici write the next request as soon as the previous response ends, instead of first yielding an event-loop turn
 * to validate the idle socket (its guard against servers that close or write to idle keep-alive sockets unasked).
 * That turn cost ~10-15% throughput on loopback; skipping it is what autocannon does too. A server that misbehaves
 * that way still shows up, as errors.
 */
function openDispatchers(plan: LoadPlan, ctx: AttemptContext): Dispatcher[] {
  const options = {
    keepAliveTimeout: 10_000,
    connect: {
      timeout: ctx.timeouts.connect,
      // `ca` replaces the default roots in Node, so the extra CA is added to them rather than passed alone.
      ...(ctx.ca ? { ca: [...rootCertificates, ctx.ca] } : {}),
    },
  };
  if (plan.mode === 'fixed-rate') {
    const timeouts = { headersTimeout: ctx.timeouts.firstByte, bodyTimeout: ctx.timeouts.total };
    return [new Pool(plan.origin, { ...options, ...timeouts, connections: plan.connections, pipelining: 1 })];
  }
  const clients = Math.min(plan.connections, plan.concurrency);
  const pipelining = plan.concurrency === clients ? 2 : 1;
  // Per-request timers are off here: the run's watchdog checks every worker's request on one interval instead.
  return Array.from({ length: clients }, () => new Client(plan.origin, { ...options, pipelining, headersTimeout: 0, bodyTimeout: 0 }));
}

/** Turns the spec into everything the hot loop needs, computed once. Throws with a readable message on bad input. */
function planLoad(spec: LoadCheckSpec): LoadPlan {
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw new Error(`load check "${spec.name}": "${safeOrigin(spec.url)}" is not an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`load check "${spec.name}": ${url.protocol} URLs are not supported (expected http: or https:)`);
  }
  const durationMs = spec.duration;
  if (!(durationMs > 0)) throw new Error(`load check "${spec.name}": duration must be above 0 (got ${durationMs} ms)`);

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    headers[name.toLowerCase()] = typeof value === 'string' ? value : value.value;
  }
  if (url.username && !headers.authorization) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  let body: string | undefined;
  if (typeof spec.body === 'string') body = spec.body;
  else if (spec.body !== undefined) {
    body = JSON.stringify(spec.body);
    headers['content-type'] ??= 'application/json';
  }

  const mode: Mode = spec.rate !== undefined ? 'fixed-rate' : 'fixed-concurrency';
  const rate = spec.rate ?? 0;
  // At a fixed rate, enough sockets for ~100 ms of latency at that rate; beyond that requests queue (and are measured).
  const connections =
    spec.connections ?? (mode === 'fixed-rate' ? Math.min(256, Math.max(8, Math.ceil(rate / 10))) : (spec.concurrency ?? 10));
  const concurrency = mode === 'fixed-rate' ? Math.min(MAX_IN_FLIGHT, spec.concurrency ?? MAX_IN_FLIGHT) : (spec.concurrency ?? connections);

  const expect = spec.expectStatus ?? '2xx';
  return {
    mode,
    target: safeOrigin(spec.url),
    origin: url.origin,
    request: {
      path: `${url.pathname}${url.search}`,
      method: spec.method ?? 'GET',
      headers: Object.keys(headers).length > 0 ? headers : null,
      body: body ?? null,
    },
    durationMs,
    rate,
    concurrency,
    connections,
    okStatus: statusTable(expect),
    expectStatusText: describeStatusExpectation(expect),
  };
}

/** The callback interface undici's core calls directly (onConnect, onHeaders, onData, onComplete, onError). */
type NativeHandler = Parameters<Dispatcher['dispatch']>[1];

/**
 * One run of the generator: counters, the histogram and the scheduling state. Requests go straight to
 * `dispatch` with a handler in undici's native callback interface: no promise, no body stream and no header
 * parsing per request (undici 7's newer handler interface wraps every request and parses headers we never read).
 */
class LoadRun {
  /** Latency of successful requests, in microseconds. */
  readonly histogram: Histogram = newHistogram();
  requests = 0;
  successes = 0;
  errors = 0;
  /** Fixed rate: requests sent after their intended time because the in-flight cap was reached. */
  late = 0;
  /** Fixed rate: requests that fell due but were never sent because the in-flight cap stayed reached to the end. */
  notSent = 0;
  /** Requests cut off by our own stop (deadline): neither a success nor the target's error. */
  cancelled = 0;
  inFlight = 0;
  readonly causes = new Map<string, ErrorCause>();
  startedAt = 0;
  sendingEndedAt = 0;
  lastDoneAt = 0;
  /** Set when the deadline stopped the run before its duration. */
  stoppedEarly = false;
  private stopping = false;
  private sending = true;
  private issued = 0;
  private backlogUntil = 0;
  private dueTotal = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly dispatchers: Dispatcher[],
    readonly plan: LoadPlan,
  ) {}

  async execute(ctx: AttemptContext): Promise<void> {
    const onAbort = () => {
      if (this.sending) this.stoppedEarly = true;
      this.stop();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let watchdog: NodeJS.Timeout | undefined;
    try {
      this.startedAt = performance.now();
      this.lastDoneAt = this.startedAt;
      const finished = new Promise<void>((resolve) => (this.wake = resolve));
      const endTimer = setTimeout(() => this.endSending(), this.plan.durationMs);
      if (this.plan.mode === 'fixed-rate') {
        this.dueTotal = Math.ceil((this.plan.durationMs * this.plan.rate) / 1000);
        this.pump();
      } else {
        const workers = Array.from({ length: this.plan.concurrency }, (_, i) => new Shot(this, this.dispatchers[i % this.dispatchers.length]!));
        watchdog = startWatchdog(workers, ctx.timeouts.firstByte, ctx.timeouts.total);
        for (const shot of workers) this.loop(shot);
      }
      await finished;
      clearTimeout(endTimer);
      // Requests still out after the window get until their own timeouts; this bounds the wait if those are huge.
      if (this.inFlight > 0 && !this.stopping) {
        const grace = new Promise<void>((resolve) => (this.wake = resolve));
        const graceTimer = setTimeout(() => this.wake?.(), ctx.timeouts.total + 1000);
        await grace;
        clearTimeout(graceTimer);
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      if (this.timer) clearTimeout(this.timer);
      if (watchdog) clearInterval(watchdog);
    }
  }

  /** Fixed rate: sends every request that is due, up to the in-flight cap, then sleeps until the next one is due. */
  pump(final = false): void {
    this.timer = undefined;
    if (!this.sending) return;
    const interval = 1000 / this.plan.rate;
    const now = performance.now();
    const due = final ? this.dueTotal : Math.min(this.dueTotal, Math.floor((now - this.startedAt) / interval) + 1);
    while (this.issued < due && this.inFlight < this.plan.concurrency) {
      if (this.issued < this.backlogUntil) this.late++;
      new Shot(this, this.dispatchers[0]!).send(this.startedAt + this.issued * interval);
      this.issued++;
    }
    if (this.issued < due) {
      // Capped: completions call pump() again; the waiting requests keep their intended start times.
      this.backlogUntil = due;
      return;
    }
    if (this.issued < this.dueTotal && this.sending) {
      const next = this.startedAt + this.issued * interval;
      this.timer = setTimeout(() => this.pump(), Math.max(0, next - performance.now()));
    }
  }

  loop(shot: Shot): void {
    if (this.sending) shot.send(performance.now());
  }

  completed(shot: Shot, error: Error | undefined): void {
    const now = performance.now();
    this.inFlight--;
    if (error !== undefined && this.stopping) {
      this.cancelled++;
    } else {
      this.requests++;
      this.lastDoneAt = now;
      if (error !== undefined) this.countError(describeTransportError(error, this.plan));
      else if (this.plan.okStatus[shot.status] === 1) {
        this.successes++;
        this.histogram.recordValue(Math.round((now - shot.measureFrom) * 1000));
      } else this.countError({ key: `status ${shot.status}`, kind: 'status' });
    }
    if (this.sending) {
      if (this.plan.mode === 'fixed-rate') {
        if (this.timer === undefined && this.issued < this.backlogUntil) this.pump();
      } else if (error !== undefined) {
        // Errors can be reported synchronously from dispatch(); resending from here would recurse without bound.
        setImmediate(() => this.loop(shot));
      } else {
        this.loop(shot);
      }
    } else if (this.inFlight === 0) {
      this.wake?.();
    }
  }

  private countError(cause: { key: string; kind: ErrorCause['kind'] }): void {
    this.errors++;
    const entry = this.causes.get(cause.key);
    if (entry) entry.count++;
    else this.causes.set(cause.key, { kind: cause.kind, count: 1 });
  }

  private endSending(): void {
    if (!this.sending) return;
    // Timers are coarse (1 ms): requests due in the last instant may not have gone out yet. Send them now, so that
    // only requests held back by the in-flight cap count as not sent.
    if (this.plan.mode === 'fixed-rate' && !this.stoppedEarly) this.pump(true);
    this.sending = false;
    this.sendingEndedAt = performance.now();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.plan.mode === 'fixed-rate' && !this.stoppedEarly) {
      const unsent = this.dueTotal - this.issued;
      if (unsent > 0) {
        this.notSent = unsent;
        this.requests += unsent;
        this.errors += unsent;
        this.causes.set(`not sent: ${this.plan.concurrency} requests were already in flight`, { kind: 'not-sent', count: unsent });
      }
    }
    if (this.inFlight === 0) this.wake?.();
  }

  /** Stops now: no new requests, in-flight ones are aborted and counted as cancelled. */
  private stop(): void {
    this.endSending();
    this.stopping = true;
    for (const dispatcher of this.dispatchers) dispatcher.destroy().catch(() => undefined);
    this.wake?.();
  }
}

/**
 * One request in flight, in undici's native handler interface (the one its core calls without a wrapper).
 * Workers at fixed concurrency reuse theirs, so the steady state allocates nothing of ours per request.
 */
class Shot {
  status = 0;
  measureFrom = 0;
  /** Watchdog state (fixed concurrency): when the request went out, whether headers came, how to abort it. */
  sentAt = 0;
  gotHeaders = false;
  abort: ((error?: Error) => void) | undefined;

  constructor(
    private readonly run: LoadRun,
    private readonly dispatcher: Dispatcher,
  ) {}

  send(measureFrom: number): void {
    this.status = 0;
    this.measureFrom = measureFrom;
    this.sentAt = measureFrom;
    this.gotHeaders = false;
    this.abort = undefined;
    this.run.inFlight++;
    this.dispatcher.dispatch(this.run.plan.request, this as NativeHandler);
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abort = abort;
  }

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    this.gotHeaders = true;
    return true;
  }

  /** The body is drained, never kept. */
  onData(): boolean {
    return true;
  }

  onComplete(): void {
    this.abort = undefined;
    this.run.completed(this, undefined);
  }

  onError(error: Error): void {
    this.abort = undefined;
    this.run.completed(this, error);
  }
}

class WatchdogTimeout extends Error {
  constructor(
    readonly code: 'UND_ERR_HEADERS_TIMEOUT' | 'LOAD_TOTAL_TIMEOUT',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Enforces the first-byte and total timeouts of every worker's request from one interval timer: cheaper than the
 * two timers undici would arm and re-arm per request, and as exact as the check needs (a tenth of the timeout).
 */
function startWatchdog(workers: Shot[], firstByteMs: number, totalMs: number): NodeJS.Timeout {
  const period = Math.min(250, Math.max(10, Math.min(firstByteMs, totalMs) / 10));
  const timer = setInterval(() => {
    const now = performance.now();
    for (const shot of workers) {
      if (!shot.abort) continue;
      const elapsed = now - shot.sentAt;
      if (!shot.gotHeaders && elapsed > firstByteMs) {
        shot.abort(new WatchdogTimeout('UND_ERR_HEADERS_TIMEOUT', 'no response headers within the first-byte timeout'));
      } else if (elapsed > totalMs) {
        shot.abort(new WatchdogTimeout('LOAD_TOTAL_TIMEOUT', 'no complete response within the total timeout'));
      }
    }
  }, period);
  timer.unref();
  return timer;
}

function describeTransportError(error: Error, plan: LoadPlan): { key: string; kind: ErrorKind } {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return { key: 'connection refused', kind: 'connect' };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { key: 'connect timeout', kind: 'timeout' };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { key: 'no response headers within the first-byte timeout', kind: 'timeout' };
    case 'UND_ERR_BODY_TIMEOUT':
      return { key: 'response body stalled', kind: 'timeout' };
    case 'LOAD_TOTAL_TIMEOUT':
      return { key: 'no complete response within the total timeout', kind: 'timeout' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { key: `host name not resolved (${code})`, kind: 'dns' };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return { key: `connection reset (${code})`, kind: 'reset' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return { key: `cannot reach ${plan.origin} (${code})`, kind: 'connect' };
    default:
      if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return { key: `TLS failed (${code})`, kind: 'tls' };
      return { key: `${error.message}${code ? ` (${code})` : ''}`, kind: 'protocol' };
  }
}

/** Builds the verdict from what was measured. Never a pass on no data. */
function judge(spec: LoadCheckSpec, plan: LoadPlan, run: LoadRun): AttemptResult {
  const h = run.histogram;
  const hasSamples = run.successes > 0;
  const ms = (percentile: number) => h.getValueAtPercentile(percentile) / 1000;
  const windowMs = Math.max(1, (run.sendingEndedAt || performance.now()) - run.startedAt);
  const elapsedMs = Math.max(windowMs, run.lastDoneAt - run.startedAt);
  const errorRate = run.requests > 0 ? run.errors / run.requests : 0;
  const rps = run.successes / (elapsedMs / 1000);
  const sent = run.requests - run.notSent;

  const measurements: Record<string, number> = {
    requests: run.requests,
    successes: run.successes,
    errors: run.errors,
    error_rate: round(errorRate, 4),
    rps: round(rps, 1),
  };
  if (hasSamples) {
    Object.assign(measurements, {
      p50_ms: round(ms(50), 2),
      p90_ms: round(ms(90), 2),
      p95_ms: round(ms(95), 2),
      p99_ms: round(ms(99), 2),
      max_ms: round(h.maxValue / 1000, 2),
      mean_ms: round(h.mean / 1000, 2),
    });
  }
  if (plan.mode === 'fixed-rate') Object.assign(measurements, { late: run.late, not_sent: run.notSent });

  const topErrors = [...run.causes.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, 5)
    .map(([cause, { kind, count }]) => ({ cause, kind, count }));
  const details: Record<string, unknown> = {
    mode: plan.mode,
    ...(plan.mode === 'fixed-rate' ? { targetRate: plan.rate } : { concurrency: plan.concurrency }),
    achievedRate: round(sent / (windowMs / 1000), 1),
    connections: plan.connections,
    durationMs: Math.round(windowMs),
    expectStatus: plan.expectStatusText,
    percentiles: hasSamples ? PERCENTILES.map((p) => ({ percentile: p, ms: round(ms(p), 2) })) : [],
    errors: topErrors,
    ...(plan.mode === 'fixed-rate' ? { late: run.late, notSent: run.notSent, latencyFrom: 'intended start (coordinated omission corrected)' } : {}),
    ...(run.cancelled > 0 ? { cancelled: run.cancelled } : {}),
  };

  const thresholds = spec.thresholds ?? {};
  const errorSummary = topErrors.length > 0 ? topErrors.map((e) => `${e.cause} ×${e.count}`).join(', ') : 'none';
  const noDataReason = run.requests === 0 ? 'no request completed' : `all ${run.requests} requests failed (${topErrors.map((e) => e.cause).join(', ')})`;

  const assertions: Assertion[] = [];
  for (const key of ['p50', 'p95', 'p99'] as const) {
    const limit = thresholds[key];
    if (limit === undefined) continue;
    const expectation = `${key} <= ${formatMs(limit)}`;
    if (!hasSamples) {
      assertions.push({ expectation, passed: false, observed: 'no data', message: `no data: ${noDataReason}; ${key} threshold cannot be judged` });
      continue;
    }
    const value = ms(Number(key.slice(1)));
    const passed = value <= limit;
    assertions.push({
      expectation,
      passed,
      observed: `${key} ${formatMs(value)}`,
      ...(passed ? {} : { message: `${key} latency ${formatMs(value)} is above the ${formatMs(limit)} threshold (over ${run.successes} successful requests)` }),
    });
  }
  const maxErrorRate = thresholds.maxErrorRate ?? DEFAULT_MAX_ERROR_RATE;
  {
    const expectation = `error rate <= ${percent(maxErrorRate)}${thresholds.maxErrorRate === undefined ? ' (default)' : ''}`;
    if (run.requests === 0) {
      assertions.push({ expectation, passed: false, observed: 'no data', message: 'no data: no request completed; the error rate cannot be judged' });
    } else {
      const passed = errorRate <= maxErrorRate;
      assertions.push({
        expectation,
        passed,
        observed: `${percent(errorRate)} (${run.errors} of ${run.requests})`,
        ...(passed ? {} : { message: `error rate ${percent(errorRate)} (${run.errors} of ${run.requests}) is above ${percent(maxErrorRate)}; errors: ${errorSummary}` }),
      });
    }
  }
  if (thresholds.minThroughput !== undefined) {
    const expectation = `throughput >= ${thresholds.minThroughput} req/s`;
    if (!hasSamples) {
      assertions.push({ expectation, passed: false, observed: 'no data', message: `no data: ${noDataReason}; the throughput threshold cannot be judged` });
    } else {
      const passed = rps >= thresholds.minThroughput;
      assertions.push({
        expectation,
        passed,
        observed: `${round(rps, 1)} req/s`,
        ...(passed ? {} : { message: `throughput ${round(rps, 1)} successful req/s is below ${thresholds.minThroughput} req/s` }),
      });
    }
  }

  const summary = hasSamples
    ? `${run.requests} requests in ${formatDuration(elapsedMs)} (${round(rps, 1)} ok req/s): p50 ${formatMs(ms(50))}, p95 ${formatMs(ms(95))}, p99 ${formatMs(ms(99))}, errors ${percent(errorRate)}`
    : `${run.requests} requests, none succeeded`;
  const base = { assertions, measurements, details };

  if (run.stoppedEarly) {
    return {
      ...base,
      outcome: 'error',
      errorKind: 'deadline',
      message: `${plan.target}: stopped by deadline after ${formatDuration(windowMs)} of ${formatDuration(plan.durationMs)}; measured so far: ${summary}`,
    };
  }
  const needsSamples = thresholds.p50 !== undefined || thresholds.p95 !== undefined || thresholds.p99 !== undefined || thresholds.minThroughput !== undefined;
  if (run.requests === 0 || (!hasSamples && needsSamples)) {
    const judged = assertions.filter((a) => a.observed === 'no data').map((a) => a.expectation.split(' ')[0]);
    return {
      ...base,
      outcome: 'no-data',
      message: `${plan.target}: no data: ${noDataReason}; ${judged.join(', ')} threshold${judged.length === 1 ? '' : 's'} cannot be judged`,
    };
  }
  const failed = assertions.filter((a) => !a.passed);
  if (failed.length > 0) {
    return { ...base, outcome: 'fail', message: `${plan.target}: ${failed.map((a) => a.message).join('; ')} — ${summary}` };
  }
  return { ...base, outcome: 'pass', message: `${plan.target}: ${summary}` };
}

/** Compiles a status expectation into a lookup table indexed by status code (the hot path does one array read). */
function statusTable(expect: StatusExpectationSpec): Uint8Array {
  const table = new Uint8Array(600);
  for (let status = 100; status < 600; status++) table[status] = statusMatches(status, expect) ? 1 : 0;
  return table;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function formatMs(ms: number): string {
  if (ms >= 1000) return formatDuration(ms);
  return `${ms < 10 ? round(ms, 2) : ms < 100 ? round(ms, 1) : Math.round(ms)} ms`;
}

function percent(fraction: number): string {
  return `${round(fraction * 100, 2)}%`;
}
