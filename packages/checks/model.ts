/**
 * The results model shared by every check kind, the runner and the reporters.
 * A check never reports `pass` unless it saw the thing it expected: no data, errors and timeouts have outcomes of their own.
 */
import type { CheckSpec } from '../config/schema.js';

/** pass: saw what was expected. fail: saw something else. error: could not get an answer (timeout, refused...).
 *  no-data: a measurement had nothing to measure. A check cut off by the deadline or a target's open breaker is an
 *  error: it was meant to run, and did not see what it expected. */
export type Outcome = 'pass' | 'fail' | 'error' | 'no-data';

/** Error kinds that retry policies can name. */
export type ErrorKind = 'timeout' | 'connect' | 'reset' | 'dns' | 'tls' | 'protocol' | 'breaker-open' | 'deadline';

export interface Assertion {
  /** The expectation as the user wrote it or as it reads aloud, e.g. `status is 2xx`, `$.status == "ok"`. */
  expectation: string;
  passed: boolean;
  /** What was seen, as text (already redacted). */
  observed?: string;
  /** Why it failed, in the user's words. */
  message?: string;
}

/** One attempt of a check, as the executor reports it. */
export interface AttemptResult {
  outcome: Outcome;
  message: string;
  assertions: Assertion[];
  /** Numbers worth charting or alerting on: latency_ms, status, p95_ms, days_to_expiry, rps, error_rate... */
  measurements: Record<string, number>;
  /** Kind-specific facts for reports (negotiated protocol version, server name, tool list, histogram...). */
  details?: Record<string, unknown>;
  /** HTTP status seen, when there was one. */
  status?: number;
  /** Set when the attempt ended on a transport problem. */
  errorKind?: ErrorKind;
  /** The server asked to be left alone this long (Retry-After); the next attempt waits at least this. */
  retryAfterMs?: number;
}

export interface AttemptRecord {
  attempt: number;
  startedAt: string;
  durationMs: number;
  outcome: Outcome;
  message: string;
  status?: number;
  errorKind?: ErrorKind;
}

export interface CheckResult {
  name: string;
  kind: CheckSpec['type'];
  /** Where the check went, credentials removed. */
  target: string;
  optional: boolean;
  /** The check's tags from the config, for grouping in reports and alert rules. */
  tags?: string[];
  outcome: Outcome;
  message: string;
  startedAt: string;
  durationMs: number;
  attempts: AttemptRecord[];
  assertions: Assertion[];
  measurements: Record<string, number>;
  details?: Record<string, unknown>;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
}

/** Why an attempt's signal fired, in words: the runner aborts with Error('deadline') or Error('the run was cancelled'). */
export function stopReason(signal: AbortSignal): string {
  const reason = signal.reason as unknown;
  return reason instanceof Error && reason.message && reason.message !== 'deadline' ? reason.message : 'the run deadline passed';
}

/** Time enters through this so tests control it. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** Resolved timeouts in milliseconds. */
export interface ResolvedTimeouts {
  connect: number;
  firstByte: number;
  total: number;
}

/** Everything an executor may use for one attempt. */
export interface AttemptContext {
  /** Aborted when the attempt's total timeout or the run deadline passes. */
  signal: AbortSignal;
  timeouts: ResolvedTimeouts;
  log: Logger;
  clock: Clock;
  /** Folder that relative file paths in the config (snapshots, CA files) resolve against. */
  baseDir: string;
  /** Extra CA certificates (PEM) to trust, if configured. */
  ca?: string;
}

/** One module per check kind implements this. `spec.url` is already absolute when the executor sees it. */
export type CheckExecutor<S extends CheckSpec = CheckSpec> = (spec: S, ctx: AttemptContext) => Promise<AttemptResult>;
