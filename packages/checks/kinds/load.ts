/**
 * The `load` check: drives one target at a fixed arrival rate or with a fixed number of requests in flight for a
 * duration, records latency in an HdrHistogram and judges the thresholds.
 *
 * Two ways of generating load, two ways of measuring:
 * - Fixed rate (open model). Request i is due at `start + i / rate`. Its latency is measured from that INTENDED start,
 *   not from the moment it was actually sent. If the target stalls, requests queue behind the stall (waiting for a
 *   free connection) and the time they spent waiting is counted, as a real user arriving on schedule would feel it;
 *   like that user, each gives up when its total timeout has passed since its intended start. Measuring from the
 *   actual send time would hide the stall ("coordinated omission": the load generator politely stops sending while
 *   the target is slow, so the slow period produces almost no samples).
 * - Fixed concurrency (closed model). N workers each send, wait for the answer, send again. Latency is the service
 *   time of each request; a slow target lowers the throughput instead. No correction applies here.
 *
 * Only successful responses (expected status, complete body) become latency samples. Transport errors and unexpected
 * statuses count toward the error rate; a fast "connection refused" must never make p95 look good.
 *
 * Latency is real network time, so this module reads the monotonic `performance.now()` clock, not `ctx.clock`.
 */
import { rootCertificates } from 'node:tls';
import { Client, type Dispatcher } from 'undici';
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
import { stopReason, type Assertion, type AttemptContext, type AttemptResult, type CheckExecutor, type ErrorKind, type ResolvedTimeouts } from '../model.js';
import { safeOrigin, withUrlCredentials } from '../http-client.js';
import { describeStatusExpectation, statusMatches } from '../status.js';

/**
 * The same maxima as the schema's (LoadCheck in packages/config/schema.ts), enforced here as well because the
 * executor is also called with specs built in code (zero-config inputs, benchmarks). They keep one check within what
 * one runner process can drive: beyond them it runs out of file descriptors and memory before the target does.
 */
export const LOAD_LIMITS = { rate: 50_000, concurrency: 5000, connections: 1000, durationMs: 600_000 } as const;
/** Default maximum error rate when the check sets none: a load test that mostly fails must not pass silently. */
const DEFAULT_MAX_ERROR_RATE = 0.01;
/** Workers when the check sets neither rate nor concurrency. */
const DEFAULT_CONCURRENCY = 10;
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
  /** Workers (fixed concurrency) or the most requests in flight (fixed rate: one per connection). */
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

interface Cause {
  key: string;
  kind: ErrorCause['kind'];
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
  const clients = openClients(plan, ctx);
  ctx.log.debug(
    `${plan.target}: ${plan.mode === 'fixed-rate' ? `${plan.rate} req/s, at most ${plan.concurrency} in flight` : `${plan.concurrency} in flight`} for ${formatDuration(plan.durationMs)} over ${plan.connections} connection(s); every request ends within the total timeout of ${formatDuration(ctx.timeouts.total)}`,
  );
  const run = new LoadRun(clients, plan, ctx.timeouts);
  try {
    await run.execute(ctx);
  } finally {
    await Promise.all(clients.map((c) => c.destroy().catch(() => undefined)));
  }
  return judge(spec, plan, run);
};

/**
 * One undici Client (one socket) per connection; undici's own queues are never relied on at a fixed rate, so every
 * request waiting for a free connection stays in our backlog, where it keeps its intended start time and can be
 * given up on when its total timeout passes. At most one request is ever outstanding on a client whose only user is
 * one worker (or, at a fixed rate, the scheduler), so `pipelining: 2` never actually pipelines; it only lets undici
 * write the next request as soon as the previous response ends, instead of first yielding an event-loop turn to
 * validate the idle socket (its guard against servers that close or write to idle keep-alive sockets unasked). That
 * turn cost ~10-15% throughput on loopback; skipping it is what autocannon does too. A server that misbehaves that
 * way still shows up, as errors. Per-request timers are off: the run's watchdog checks every request on one interval.
 */
function openClients(plan: LoadPlan, ctx: AttemptContext): Client[] {
  const count = Math.min(plan.connections, plan.concurrency);
  const pipelining = plan.mode === 'fixed-rate' || plan.concurrency === count ? 2 : 1;
  const options = {
    keepAliveTimeout: 10_000,
    pipelining,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: {
      // A connection that takes longer than the whole request may take is given up on with it.
      timeout: Math.min(ctx.timeouts.connect, ctx.timeouts.total),
      // `ca` replaces the default roots in Node, so the extra CA is added to them rather than passed alone.
      ...(ctx.ca ? { ca: [...rootCertificates, ctx.ca] } : {}),
    },
  };
  return Array.from({ length: count }, () => new Client(plan.origin, options));
}

/**
 * Turns the spec into everything the hot loop needs, computed once. Throws with a readable message on bad input.
 *
 * How `rate`, `concurrency` and `connections` combine:
 * - `rate` alone: fixed rate (open model); one connection per 10 req/s (8 to 256), and at most one request in flight
 *   per connection. Requests due while every connection is busy wait, still measured from their intended start.
 * - `rate` and `concurrency`: fixed rate, at most `concurrency` requests in flight (connections default to it).
 * - `concurrency` alone: fixed concurrency (closed model) with that many workers over as many connections.
 * - neither: fixed concurrency with `connections` workers, 10 by default.
 * - `connections` above the concurrency: only `concurrency` sockets are opened, as more could never be used. Below
 *   it at fixed concurrency, workers share sockets (each request waits for the one ahead of it on its socket); at a
 *   fixed rate the in-flight cap becomes `connections`, since every request in flight needs a socket of its own.
 * - zero, negative, fractional (concurrency, connections), non-finite or above-maximum values: a readable error.
 */
function planLoad(spec: LoadCheckSpec): LoadPlan {
  const where = `load check "${spec.name}"`;
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw new Error(`${where}: "${safeOrigin(spec.url)}" is not an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${where}: ${url.protocol} URLs are not supported (expected http: or https:)`);
  }
  const durationMs = spec.duration;
  if (!(durationMs > 0)) throw new Error(`${where}: duration must be above 0 (got ${durationMs} ms)`);
  if (durationMs > LOAD_LIMITS.durationMs) {
    throw new Error(`${where}: duration ${formatDuration(durationMs)} is above the maximum of ${formatDuration(LOAD_LIMITS.durationMs)}`);
  }
  if (spec.rate !== undefined && !(spec.rate > 0 && spec.rate <= LOAD_LIMITS.rate)) {
    throw new Error(`${where}: rate ${spec.rate} is out of range (expected above 0 and at most ${LOAD_LIMITS.rate} requests per second)`);
  }
  for (const key of ['concurrency', 'connections'] as const) {
    const value = spec[key];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= LOAD_LIMITS[key])) {
      throw new Error(`${where}: ${key} ${value} is out of range (expected a whole number from 1 to ${LOAD_LIMITS[key]})`);
    }
  }

  const given: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    given[name.toLowerCase()] = typeof value === 'string' ? value : value.value;
  }
  const headers: Record<string, string> = withUrlCredentials(url.href, given).headers ?? {};
  let body: string | undefined;
  if (typeof spec.body === 'string') body = spec.body;
  else if (spec.body !== undefined) {
    body = JSON.stringify(spec.body);
    headers['content-type'] ??= 'application/json';
  }

  let mode: Mode;
  let rate = 0;
  let connections: number;
  let concurrency: number;
  if (spec.rate !== undefined) {
    mode = 'fixed-rate';
    rate = spec.rate;
    connections = spec.connections ?? spec.concurrency ?? Math.min(256, Math.max(8, Math.ceil(rate / 10)));
    concurrency = Math.min(connections, spec.concurrency ?? connections);
  } else {
    mode = 'fixed-concurrency';
    concurrency = spec.concurrency ?? spec.connections ?? DEFAULT_CONCURRENCY;
    connections = Math.min(concurrency, spec.connections ?? concurrency);
  }
  connections = Math.min(connections, concurrency);

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
 * sending: the load window is open. draining: the window closed; requests in flight (and, at a fixed rate, those
 * that fell due but wait for a connection) get until their total timeout. done: every request is accounted for.
 */
type Phase = 'sending' | 'draining' | 'done';

/**
 * One run of the generator: counters, the histogram and the scheduling state. Requests go straight to
 * `dispatch` with a handler in undici's native callback interface: no promise, no body stream and no header
 * parsing per request (undici 7's newer handler interface wraps every request and parses headers we never read).
 *
 * Time bounds, whatever the target does: every request ends (answered, or counted as a timeout) within the total
 * timeout of its start (the intended start at a fixed rate); the watchdog enforces it, and at duration + total
 * timeout the run stops outright: whatever is still out then is counted as timed out and its socket destroyed.
 */
class LoadRun {
  /** Latency of successful requests, in microseconds. */
  readonly histogram: Histogram = newHistogram();
  requests = 0;
  successes = 0;
  errors = 0;
  /** Fixed rate: requests sent after their intended time because every connection was busy. */
  late = 0;
  /** Fixed rate: requests that fell due but were never sent: no connection came free within their total timeout. */
  notSent = 0;
  /** Requests cut off by our own stop (deadline): neither a success nor the target's error. */
  cancelled = 0;
  /** Connections (workers at fixed concurrency) given up because the OS would not open another socket. */
  retired = 0;
  inFlight = 0;
  readonly causes = new Map<string, ErrorCause>();
  startedAt = 0;
  sendingEndedAt = 0;
  lastDoneAt = 0;
  /** Set when the deadline stopped the run before its duration. */
  stoppedEarly = false;
  /** Why it was stopped: the run deadline, or the run was cancelled. */
  stoppedBecause = 'the run deadline passed';
  readonly shots: Shot[];
  private phase: Phase = 'sending';
  private readonly idle: Shot[] = [];
  private pumping = false;
  private issued = 0;
  private backlogUntil = 0;
  private dueTotal = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly firstByteMs: number;
  private readonly totalMs: number;
  private readonly totalTimeout: Cause;
  private readonly headersTimeout: Cause;

  constructor(
    private readonly clients: Client[],
    readonly plan: LoadPlan,
    timeouts: ResolvedTimeouts,
  ) {
    this.totalMs = timeouts.total;
    this.firstByteMs = timeouts.firstByte;
    this.totalTimeout = { key: `no complete response within the total timeout of ${formatDuration(this.totalMs)}`, kind: 'timeout' };
    this.headersTimeout = { key: `no response headers within the first-byte timeout of ${formatDuration(this.firstByteMs)}`, kind: 'timeout' };
    // Fixed rate: one shot per connection (at most one request in flight on each). Fixed concurrency: one per worker.
    const count = plan.mode === 'fixed-rate' ? clients.length : plan.concurrency;
    this.shots = Array.from({ length: count }, (_, i) => new Shot(this, clients[i % clients.length]!));
  }

  async execute(ctx: AttemptContext): Promise<void> {
    const onAbort = () => {
      this.stoppedBecause = stopReason(ctx.signal);
      this.cancel();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const finished = new Promise<void>((resolve) => (this.wake = resolve));
    this.startedAt = performance.now();
    this.lastDoneAt = this.startedAt;
    const endTimer = setTimeout(() => this.endSending(), this.plan.durationMs);
    const stopTimer = setTimeout(() => this.stopAtTimeLimit(), this.plan.durationMs + this.totalMs);
    const period = Math.min(250, Math.max(10, Math.min(this.firstByteMs, this.totalMs) / 10));
    const watchdog = setInterval(() => this.enforceTimeouts(), period);
    try {
      if (this.plan.mode === 'fixed-rate') {
        // Popped from the end: the first connections are reused while they keep up; more open only when needed.
        for (let i = this.shots.length - 1; i >= 0; i--) this.idle.push(this.shots[i]!);
        this.dueTotal = Math.ceil((this.plan.durationMs * this.plan.rate) / 1000);
        this.pump();
      } else {
        for (const shot of this.shots) this.loop(shot);
      }
      await finished;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      clearTimeout(endTimer);
      clearTimeout(stopTimer);
      clearInterval(watchdog);
      if (this.timer) clearTimeout(this.timer);
    }
  }

  /**
   * Fixed rate: gives up on requests that waited for a connection past their total timeout, sends every due request
   * a free connection can take, then sleeps until the next one is due (or until a connection frees up).
   */
  pump(): void {
    if (this.pumping || this.phase === 'done') return;
    this.pumping = true;
    this.timer = undefined;
    try {
      const interval = 1000 / this.plan.rate;
      const now = performance.now();
      const due = this.phase === 'draining' ? this.dueTotal : Math.min(this.dueTotal, Math.floor((now - this.startedAt) / interval) + 1);
      let expired = 0;
      while (this.issued < due && now - (this.startedAt + this.issued * interval) > this.totalMs) {
        this.issued++;
        expired++;
      }
      if (expired > 0) this.countNotSent(expired);
      while (this.issued < due && this.idle.length > 0) {
        if (this.issued < this.backlogUntil) this.late++;
        const intended = this.startedAt + this.issued * interval;
        this.issued++;
        this.idle.pop()!.send(intended, now);
      }
      if (this.issued < due) {
        // Every connection busy: a completion calls pump() again; the waiting requests keep their intended start.
        this.backlogUntil = due;
      } else if (this.phase === 'sending' && this.issued < this.dueTotal) {
        const next = this.startedAt + this.issued * interval;
        this.timer = setTimeout(() => this.pump(), Math.max(0, next - performance.now()));
      }
    } finally {
      this.pumping = false;
    }
    this.finishIfDrained();
  }

  loop(shot: Shot): void {
    if (this.phase === 'sending' && !shot.retired) {
      const now = performance.now();
      shot.send(now, now);
    }
  }

  completed(shot: Shot, error: Error | undefined): void {
    if (!shot.active) return; // already accounted for by a stop
    shot.active = false;
    shot.abort = undefined;
    this.inFlight--;
    const now = performance.now();
    this.requests++;
    this.lastDoneAt = now;
    if (error !== undefined) {
      const cause = describeTransportError(error, this.plan);
      if (cause.socketLimit) this.retire(shot);
      this.countError(cause);
    } else if (now - shot.measureFrom > this.totalMs) {
      // Answered, but after the watchdog's last look: a user would have given up already.
      this.countError(this.totalTimeout);
    } else if (this.plan.okStatus[shot.status] === 1) {
      this.successes++;
      this.histogram.recordValue(Math.round((now - shot.measureFrom) * 1000));
    } else {
      this.countError({ key: `status ${shot.status}`, kind: 'status' });
    }
    if (this.plan.mode === 'fixed-rate') {
      if (!shot.retired) this.idle.push(shot);
      if (this.timer === undefined) this.pump();
    } else if (this.phase === 'sending') {
      // Errors can be reported synchronously from dispatch(); resending from here would recurse without bound.
      if (error !== undefined) setImmediate(() => this.loop(shot));
      else this.loop(shot);
    } else {
      this.finishIfDrained();
    }
  }

  /** The OS refused a socket (EMFILE, ENFILE): open no more through this shot; the others carry on. */
  private retire(shot: Shot): void {
    if (shot.retired) return;
    shot.retired = true;
    this.retired++;
  }

  private countError(cause: Cause, count = 1): void {
    this.errors += count;
    const entry = this.causes.get(cause.key);
    if (entry) entry.count += count;
    else this.causes.set(cause.key, { kind: cause.kind, count });
  }

  private countNotSent(count: number): void {
    this.notSent += count;
    this.requests += count;
    const usable = this.shots.length - this.retired;
    const key =
      usable === 0
        ? 'not sent: no socket could be opened (the process ran out of file descriptors)'
        : `not sent: all ${usable} connection(s) stayed busy past the request's total timeout of ${formatDuration(this.totalMs)}`;
    this.countError({ key, kind: 'not-sent' }, count);
  }

  /** Aborts requests that passed their first-byte or total timeout, on one interval for all of them. */
  private enforceTimeouts(): void {
    const now = performance.now();
    for (const shot of this.shots) {
      if (!shot.active || !shot.abort) continue;
      if (!shot.gotHeaders && this.firstByteMs < this.totalMs && now - shot.sentAt > this.firstByteMs) {
        shot.abort(new LoadTimeout('UND_ERR_HEADERS_TIMEOUT', this.headersTimeout.key));
      } else if (now - shot.measureFrom > this.totalMs) {
        shot.abort(new LoadTimeout('LOAD_TOTAL_TIMEOUT', this.totalTimeout.key));
      }
    }
  }

  private endSending(): void {
    if (this.phase !== 'sending') return;
    this.phase = 'draining';
    this.sendingEndedAt = performance.now();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Timers are coarse (1 ms): requests due in the last instant may not have gone out yet; pump() sends them now.
    if (this.plan.mode === 'fixed-rate') this.pump();
    else this.finishIfDrained();
  }

  /** Ends the run once nothing is in flight and, at a fixed rate, nothing more can be sent. */
  private finishIfDrained(): void {
    if (this.phase !== 'draining' || this.inFlight > 0) return;
    // With no connection left at all (every one refused by the OS), the backlog can never go out.
    if (this.plan.mode === 'fixed-rate' && this.issued < this.dueTotal && this.idle.length > 0) return;
    this.finish();
  }

  /**
   * Duration + total timeout: every request due in the window has passed its total timeout, answered or not.
   * What is still out is counted as timed out, the backlog as not sent, and the sockets are destroyed by the caller.
   */
  private stopAtTimeLimit(): void {
    if (this.phase === 'done') return;
    this.endSending();
    if ((this.phase as Phase) === 'done') return;
    const now = performance.now();
    for (const shot of this.shots) {
      if (!shot.active) continue;
      shot.active = false;
      this.inFlight--;
      this.requests++;
      this.countError(!shot.gotHeaders && this.firstByteMs < this.totalMs && now - shot.sentAt > this.firstByteMs ? this.headersTimeout : this.totalTimeout);
    }
    this.finish();
  }

  private finish(): void {
    if (this.phase === 'done') return;
    if (this.plan.mode === 'fixed-rate' && this.issued < this.dueTotal) {
      this.countNotSent(this.dueTotal - this.issued);
      this.issued = this.dueTotal;
    }
    this.phase = 'done';
    this.wake?.();
  }

  /** The deadline: stops now; requests in flight are cut off and counted as cancelled, not as the target's errors. */
  private cancel(): void {
    if (this.phase === 'done') return;
    if (this.phase === 'sending') {
      this.stoppedEarly = true;
      this.sendingEndedAt = performance.now();
    }
    this.phase = 'done';
    for (const shot of this.shots) {
      if (!shot.active) continue;
      shot.active = false;
      this.inFlight--;
      this.cancelled++;
    }
    for (const client of this.clients) client.destroy().catch(() => undefined);
    this.wake?.();
  }
}

/**
 * One request at a time, in undici's native handler interface (the one its core calls without a wrapper). Shots
 * are reused (one per worker, or one per connection at a fixed rate), so the steady state allocates nothing of ours.
 */
class Shot {
  status = 0;
  /** Latency and the total timeout count from here: the intended start at a fixed rate, the send time otherwise. */
  measureFrom = 0;
  /** When the request was handed to its connection; the first-byte timeout counts from here. */
  sentAt = 0;
  gotHeaders = false;
  /** A request of this shot is out and not yet accounted for. */
  active = false;
  /** The OS refused this shot a socket: it sends no more. */
  retired = false;
  abort: ((error?: Error) => void) | undefined;

  constructor(
    private readonly run: LoadRun,
    private readonly client: Client,
  ) {}

  send(measureFrom: number, sentAt: number): void {
    this.status = 0;
    this.measureFrom = measureFrom;
    this.sentAt = sentAt;
    this.gotHeaders = false;
    this.abort = undefined;
    this.active = true;
    this.run.inFlight++;
    this.client.dispatch(this.run.plan.request, this as NativeHandler);
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
    this.run.completed(this, undefined);
  }

  onError(error: Error): void {
    this.run.completed(this, error);
  }
}

class LoadTimeout extends Error {
  constructor(
    readonly code: 'UND_ERR_HEADERS_TIMEOUT' | 'LOAD_TOTAL_TIMEOUT',
    message: string,
  ) {
    super(message);
  }
}

function describeTransportError(error: Error, plan: LoadPlan): Cause & { socketLimit?: boolean } {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return { key: 'connection refused', kind: 'connect' };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { key: 'connect timeout', kind: 'timeout' };
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'LOAD_TOTAL_TIMEOUT':
      return { key: error.message, kind: 'timeout' };
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
    case 'EMFILE':
    case 'ENFILE':
      return { key: `no socket could be opened: the process ran out of file descriptors (${code}); lower connections or raise the limit (ulimit -n)`, kind: 'connect', socketLimit: true };
    default:
      if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return { key: `TLS failed (${code})`, kind: 'tls' };
      return { key: `${error.message}${code ? ` (${code})` : ''}`, kind: 'protocol' };
  }
}

/**
 * Builds the verdict from what was measured. Never a pass on no data: when no request succeeded (or none was sent)
 * nothing was measured, and the outcome is 'no-data' whatever thresholds are set, even a 100% error-rate allowance.
 */
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
    ...(plan.mode === 'fixed-rate' ? { targetRate: plan.rate, maxInFlight: plan.concurrency } : { concurrency: plan.concurrency }),
    achievedRate: round(sent / (windowMs / 1000), 1),
    connections: plan.connections,
    durationMs: Math.round(windowMs),
    expectStatus: plan.expectStatusText,
    percentiles: hasSamples ? PERCENTILES.map((p) => ({ percentile: p, ms: round(ms(p), 2) })) : [],
    errors: topErrors,
    ...(plan.mode === 'fixed-rate' ? { late: run.late, notSent: run.notSent, latencyFrom: 'intended start (coordinated omission corrected)' } : {}),
    ...(run.cancelled > 0 ? { cancelled: run.cancelled } : {}),
    ...(run.retired > 0 ? { socketsRefused: run.retired } : {}),
  };

  const thresholds = spec.thresholds ?? {};
  const errorSummary = topErrors.length > 0 ? topErrors.map((e) => `${e.cause} ×${e.count}`).join(', ') : 'none';
  const noDataReason = run.requests === 0 ? 'no request was sent' : `all ${run.requests} requests failed (${topErrors.map((e) => e.cause).join(', ')})`;

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
      assertions.push({ expectation, passed: false, observed: 'no data', message: 'no data: no request was sent; the error rate cannot be judged' });
    } else if (!hasSamples && errorRate <= maxErrorRate) {
      // Within the allowance, but an error rate over nothing but failures measured nothing about the service.
      assertions.push({
        expectation,
        passed: false,
        observed: `${percent(errorRate)} (${run.errors} of ${run.requests})`,
        message: `no data: ${noDataReason}; an error rate within the allowance does not pass when no request succeeded`,
      });
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
      message: `${plan.target}: stopped after ${formatDuration(windowMs)} of ${formatDuration(plan.durationMs)} because ${run.stoppedBecause}; measured so far: ${summary}`,
    };
  }
  if (!hasSamples) {
    const unjudged = assertions.filter((a) => a.observed === 'no data').map((a) => a.expectation.split(' ')[0]);
    const thresholdNote = unjudged.length > 0 ? ` (${unjudged.join(', ')} threshold${unjudged.length === 1 ? '' : 's'} cannot be judged)` : '';
    return {
      ...base,
      outcome: 'no-data',
      message: `${plan.target}: no data: ${noDataReason}; nothing was measured${thresholdNote}`,
    };
  }
  if (run.retired > 0) {
    // The load asked for was not applied: whatever the thresholds say, this is not the test that was configured.
    const usable = run.shots.length - run.retired;
    const unit = plan.mode === 'fixed-rate' ? 'connections' : 'workers';
    return {
      ...base,
      outcome: 'error',
      message: `${plan.target}: only ${usable} of ${run.shots.length} ${unit} could open a socket: this process ran out of file descriptors (EMFILE); lower connections/concurrency or raise the limit (ulimit -n). Measured with ${usable}: ${summary}`,
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
