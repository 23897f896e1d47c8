/**
 * Runs a list of checks: a bounded pool, per-attempt timeouts, retries with backoff, an overall deadline and a circuit
 * breaker per target (so a dead target fails fast instead of eating the deadline). Executors do exactly one attempt;
 * everything about "how many times and for how long" lives here.
 */
import { BrokenCircuitError, CircuitBreakerPolicy, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import type { CheckSpec } from '../config/schema.js';
import { resolveCheckSettings, type ResolvedRetries, type ResolvedSettings } from '../config/plan.js';
import { formatDuration } from '../config/duration.js';
import { secrets as defaultSecrets, type Secrets } from '../config/secrets.js';
import type {
  AttemptContext,
  AttemptRecord,
  AttemptResult,
  CheckExecutor,
  CheckResult,
  Clock,
  ErrorKind,
  Logger,
  ResolvedTimeouts,
} from './model.js';
import { systemClock } from './model.js';
import { statusMatches } from './status.js';
import { defaultExecutors } from './kinds/index.js';

/** The runner takes the planner's resolved settings (defaults, then top-level, then environment). */
export type RunnerSettings = Pick<ResolvedSettings, 'concurrency' | 'deadlineMs' | 'timeouts' | 'retries' | 'breaker'>;

export interface RunOptions {
  log: Logger;
  baseDir: string;
  clock?: Clock;
  signal?: AbortSignal;
  ca?: string;
  secrets?: Secrets;
  executors?: Partial<Record<CheckSpec['type'], CheckExecutor<never>>>;
  /** Called as each check finishes (live progress). */
  onResult?: (result: CheckResult) => void;
}

export interface RunResult {
  startedAt: string;
  durationMs: number;
  results: CheckResult[];
  /** Every required check passed, and at least one check passed (a run that saw nothing pass verified nothing). */
  passed: boolean;
}

/** The abort reason when the caller cancels the run (SIGINT, SIGTERM): reported as such, never as a deadline. */
const CANCELLED = 'the run was cancelled';

/** Why the run's signal fired, in words for a message. */
function stopReason(signal: AbortSignal, deadlineMs: number): string {
  const reason = signal.reason as unknown;
  return reason instanceof Error && reason.message === CANCELLED ? CANCELLED : `the run deadline of ${formatDuration(deadlineMs)} passed`;
}

/** Transport failures that say "this target is not answering"; only these trip a target's breaker. */
const TARGET_DOWN: ReadonlySet<ErrorKind> = new Set(['connect', 'timeout', 'dns', 'tls']);

class TargetDown extends Error {
  constructor(readonly result: AttemptResult) {
    super(result.message);
  }
}

/** Kinds that bound their own running time (a load test runs for its duration) get only the run deadline. */
const SELF_TIMED: ReadonlySet<CheckSpec['type']> = new Set(['load', 'circuit-breaker']);

export async function runChecks(
  plan: { checks: CheckSpec[]; settings: RunnerSettings },
  options: RunOptions,
): Promise<RunResult> {
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  const deadline = new AbortController();
  const deadlineTimer = setTimeout(() => deadline.abort(new Error('deadline')), plan.settings.deadlineMs);
  const onOuterAbort = () => deadline.abort(new Error(CANCELLED));
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const breakers = new Map<string, CircuitBreakerPolicy>();
  const results: CheckResult[] = new Array(plan.checks.length);

  let next = 0;
  const worker = async () => {
    while (next < plan.checks.length) {
      const index = next++;
      const check = plan.checks[index]!;
      const result = await runOneCheck(check, plan.settings, options, clock, deadline.signal, breakers);
      results[index] = result;
      options.onResult?.(result);
    }
  };
  try {
    const poolSize = Math.max(1, Math.min(plan.settings.concurrency, plan.checks.length));
    await Promise.all(Array.from({ length: poolSize }, worker));
  } finally {
    clearTimeout(deadlineTimer);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
  const passed = results.some((r) => r.outcome === 'pass') && results.every((r) => r.optional || r.outcome === 'pass');
  return { startedAt: new Date(started).toISOString(), durationMs: clock.now() - started, results, passed };
}

function targetOf(check: CheckSpec): string {
  if ('url' in check && check.url) {
    try {
      const u = new URL(check.url.includes('://') ? check.url : `https://${check.url}`);
      return `${u.protocol}//${u.host}`;
    } catch {
      return check.url;
    }
  }
  if (check.type === 'mcp' && check.command) return `stdio:${check.command}`;
  return check.name;
}

function displayTarget(check: CheckSpec, redact: (s: string) => string): string {
  if ('url' in check && check.url) {
    try {
      const u = new URL(check.url.includes('://') ? check.url : `https://${check.url}`);
      u.username = '';
      u.password = '';
      // The query may carry tokens: show that there is one, not what it says.
      const query = u.search ? '?…' : '';
      u.search = '';
      return redact(u.toString() + query);
    } catch {
      return redact(check.url);
    }
  }
  if (check.type === 'mcp' && check.command) return redact(['stdio:', check.command, ...(check.args ?? [])].join(' '));
  return check.name;
}

function breakerFor(key: string, settings: RunnerSettings, breakers: Map<string, CircuitBreakerPolicy>): CircuitBreakerPolicy {
  let policy = breakers.get(key);
  if (!policy) {
    policy = circuitBreaker(
      handleWhen((error) => error instanceof TargetDown),
      { halfOpenAfter: settings.breaker.halfOpenAfterMs, breaker: new ConsecutiveBreaker(settings.breaker.failures) },
    );
    breakers.set(key, policy);
  }
  return policy;
}

/**
 * Whether a failed attempt is worth repeating under the retry policy. No data and deadline stops never retry, and
 * neither do checks that run for a set time (a failed load test or breaker exercise is a measurement, not a blip).
 */
function shouldRetry(check: CheckSpec, result: AttemptResult, retries: ResolvedRetries): boolean {
  if (result.outcome === 'pass' || result.outcome === 'no-data') return false;
  if (SELF_TIMED.has(check.type)) return false;
  if (result.errorKind === 'deadline' || result.errorKind === 'breaker-open') return false;
  if (result.outcome === 'error') {
    if (!retries.onErrors) return true;
    return result.errorKind !== undefined && (retries.onErrors as string[]).includes(result.errorKind);
  }
  if (!retries.onStatus) return true;
  return result.status !== undefined && retries.onStatus.some((pattern) => statusMatches(result.status!, pattern));
}

async function runOneCheck(
  check: CheckSpec,
  settings: RunnerSettings,
  options: RunOptions,
  clock: Clock,
  deadline: AbortSignal,
  breakers: Map<string, CircuitBreakerPolicy>,
): Promise<CheckResult> {
  const redact = (text: string) => (options.secrets ?? defaultSecrets).redact(text);
  const executor = (options.executors?.[check.type] ?? defaultExecutors[check.type]) as CheckExecutor<CheckSpec>;
  const { timeouts, retries } = resolveCheckSettings(settings, check);
  const breaker = breakerFor(targetOf(check), settings, breakers);
  const started = clock.now();
  const attempts: AttemptRecord[] = [];
  let last: AttemptResult | undefined;
  let delay = retries.delayMs;
  const label = `[${check.name}]`;

  for (let n = 1; n <= retries.attempts; n++) {
    if (deadline.aborted) {
      last = {
        outcome: 'error',
        errorKind: 'deadline',
        message: `${n === 1 ? 'not run' : `stopped after ${n - 1} attempt(s)`}: ${stopReason(deadline, settings.deadlineMs)}`,
        assertions: [],
        measurements: {},
      };
      break;
    }
    const attemptStarted = clock.now();
    last = await attemptOnce(check, executor, breaker, { timeouts, deadline, options, clock, settings });
    last = { ...last, message: redact(last.message) };
    attempts.push({
      attempt: n,
      startedAt: new Date(attemptStarted).toISOString(),
      durationMs: Math.round(clock.now() - attemptStarted),
      outcome: last.outcome,
      message: last.message,
      ...(last.status !== undefined ? { status: last.status } : {}),
      ...(last.errorKind ? { errorKind: last.errorKind } : {}),
    });
    const retrying = n < retries.attempts && shouldRetry(check, last, retries);
    // Retry-After is honoured up to maxDelay: a server that asks for an hour does not get to eat the run deadline.
    const wait = last.retryAfterMs !== undefined ? Math.min(Math.max(delay, last.retryAfterMs), Math.max(delay, retries.maxDelayMs)) : delay;
    const asked = last.retryAfterMs !== undefined ? ` (the server asked for ${formatDuration(last.retryAfterMs)})` : '';
    const tail = retrying ? `; retrying in ${formatDuration(wait)}${asked}` : '';
    const line = `${label} attempt ${n}/${retries.attempts}: ${last.outcome} — ${last.message}${tail}`;
    if (last.outcome === 'pass') options.log.info(line);
    else if (retrying) options.log.info(line);
    else options.log.warning(line);
    if (!retrying) break;
    await clock.sleep(wait, deadline);
    delay = Math.min(delay * retries.backoff, retries.maxDelayMs);
  }

  let final = last!;
  // When the breaker stopped the retries, the cause worth reading is the last real failure, not the breaker.
  const lastReal = [...attempts].reverse().find((a) => a.errorKind !== 'breaker-open');
  if (final.errorKind === 'breaker-open' && lastReal) {
    final = { ...final, message: `${lastReal.message} (no further attempts: this target's circuit breaker opened)` };
  }
  return {
    name: check.name,
    kind: check.type,
    target: displayTarget(check, redact),
    optional: check.optional ?? false,
    ...(check.tags?.length ? { tags: check.tags } : {}),
    outcome: final.outcome,
    message: final.message,
    startedAt: new Date(started).toISOString(),
    durationMs: Math.round(clock.now() - started),
    attempts,
    assertions: final.assertions.map((a) => ({
      ...a,
      expectation: redact(a.expectation),
      ...(a.observed !== undefined ? { observed: redact(a.observed) } : {}),
      ...(a.message !== undefined ? { message: redact(a.message) } : {}),
    })),
    measurements: final.measurements,
    ...(final.details ? { details: JSON.parse(redact(JSON.stringify(final.details))) as Record<string, unknown> } : {}),
  };
}

async function attemptOnce(
  check: CheckSpec,
  executor: CheckExecutor<CheckSpec>,
  breaker: CircuitBreakerPolicy,
  env: { timeouts: ResolvedTimeouts; deadline: AbortSignal; options: RunOptions; clock: Clock; settings: RunnerSettings },
): Promise<AttemptResult> {
  const { timeouts, deadline, options, clock } = env;
  // The runner enforces the attempt budget itself, so an executor that ignores its signal still cannot hang the run.
  const budget = SELF_TIMED.has(check.type) ? undefined : timeouts.total + 1_000;
  // A clearable timer rather than AbortSignal.timeout, which would still fire (and abort listeners) after the attempt.
  const budgetController = new AbortController();
  const budgetTimer = budget ? setTimeout(() => budgetController.abort(new Error('attempt budget')), budget) : undefined;
  const signal = AbortSignal.any([deadline, budgetController.signal]);
  const ctx: AttemptContext = {
    signal,
    timeouts,
    log: options.log,
    clock,
    baseDir: options.baseDir,
    ...(options.ca ? { ca: options.ca } : {}),
  };
  try {
    return await breaker.execute(async () => {
      const result = await raceAbort(executor(check, ctx), signal, SELF_TIMED.has(check.type) ? SELF_TIMED_GRACE_MS : 0, () =>
        deadline.aborted
          ? { kind: 'deadline' as const, message: `stopped: ${stopReason(deadline, env.settings.deadlineMs)}` }
          : { kind: 'timeout' as const, message: `no result within the total timeout of ${formatDuration(timeouts.total)}` },
      );
      if (result.outcome === 'error' && result.errorKind && TARGET_DOWN.has(result.errorKind)) throw new TargetDown(result);
      return result;
    });
  } catch (error) {
    if (error instanceof TargetDown) return error.result;
    if (error instanceof BrokenCircuitError) {
      return {
        outcome: 'error',
        errorKind: 'breaker-open',
        message: `not attempted: ${env.settings.breaker.failures} consecutive connection failures to this target opened its circuit breaker (retry after ${formatDuration(env.settings.breaker.halfOpenAfterMs)})`,
        assertions: [],
        measurements: {},
      };
    }
    // An executor bug must still surface as a failed check, never as a pass or a crash of the whole run.
    const message = error instanceof Error ? error.message : String(error);
    return { outcome: 'error', errorKind: 'protocol', message: `check crashed: ${message}`, assertions: [], measurements: {} };
  } finally {
    clearTimeout(budgetTimer);
  }
}

/** How long a self-timed check gets, after the deadline, to hand in what it measured before being cut off. */
const SELF_TIMED_GRACE_MS = 2_000;

function raceAbort(
  work: Promise<AttemptResult>,
  signal: AbortSignal,
  graceMs: number,
  describe: () => { kind: ErrorKind; message: string },
): Promise<AttemptResult> {
  if (signal.aborted && graceMs === 0) {
    work.catch(() => undefined);
    const { kind, message } = describe();
    return Promise.resolve({ outcome: 'error', errorKind: kind, message, assertions: [], measurements: {} });
  }
  return new Promise<AttemptResult>((resolve, reject) => {
    let grace: ReturnType<typeof setTimeout> | undefined;
    const cutOff = () => {
      const { kind, message } = describe();
      resolve({ outcome: 'error', errorKind: kind, message, assertions: [], measurements: {} });
    };
    // Executors that honour the signal return their partial result (with measurements) within the grace period.
    const onAbort = () => {
      if (graceMs > 0) grace = setTimeout(cutOff, graceMs);
      else cutOff();
    };
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(grace);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(grace);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
