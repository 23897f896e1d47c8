/**
 * The simulated downstream dependency and the circuit breaker (cockatiel) that guards it.
 *
 * While the dependency is down a call hangs until the dependency timeout (slow failure); after `failures`
 * consecutive failures the breaker opens and calls fail at once (fast failure) until `halfOpenAfter` has passed,
 * when one trial call decides between closing again and staying open.
 */
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  IsolatedCircuitError,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  timeout,
  wrap,
  type IPolicy,
} from 'cockatiel';

export type BreakerStateName = 'closed' | 'open' | 'half-open' | 'disabled';

export interface BreakerSettings {
  /** Consecutive failed calls that open the breaker (default 3). */
  failures?: number;
  /** How long the breaker stays open before a trial call (default 5000 ms). */
  halfOpenAfterMs?: number;
}

export interface DependencyOptions {
  /** `false` calls the dependency without a breaker (every failing call is slow). */
  breaker: BreakerSettings | false;
  /** How long a call waits for the dependency before giving up (default 2000 ms). */
  timeoutMs: number;
  /** How long a healthy dependency takes to answer (default 2 ms). */
  latencyMs: number;
  /** Whether the dependency is down right now (read on every call, so switches apply at once). */
  isDown: () => boolean;
}

export type DependencyOutcome =
  | { ok: true; latencyMs: number; breaker: BreakerStateName }
  | { ok: false; reason: 'timeout'; latencyMs: number; breaker: BreakerStateName }
  | { ok: false; reason: 'breaker-open'; latencyMs: number; breaker: BreakerStateName }
  | { ok: false; reason: 'stopped'; latencyMs: number; breaker: BreakerStateName };

class DependencyTimeout extends Error {}

export class GuardedDependency {
  private readonly breaker;
  private readonly policy: IPolicy;
  private readonly stopping = new AbortController();

  constructor(private readonly options: DependencyOptions) {
    const callTimeout = timeout(options.timeoutMs, TimeoutStrategy.Cooperative);
    if (options.breaker === false) {
      this.breaker = undefined;
      this.policy = callTimeout;
    } else {
      this.breaker = circuitBreaker(handleAll, {
        halfOpenAfter: options.breaker.halfOpenAfterMs ?? 5_000,
        breaker: new ConsecutiveBreaker(options.breaker.failures ?? 3),
      });
      this.policy = wrap(this.breaker, callTimeout);
    }
  }

  get breakerState(): BreakerStateName {
    if (!this.breaker) return 'disabled';
    switch (this.breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return 'open';
    }
  }

  /** One call to the dependency through the breaker. Never throws: the outcome says what happened. */
  async call(): Promise<DependencyOutcome> {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    try {
      await this.policy.execute(({ signal }) => this.simulate(signal), this.stopping.signal);
      return { ok: true, latencyMs: elapsed(), breaker: this.breakerState };
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
        return { ok: false, reason: 'breaker-open', latencyMs: elapsed(), breaker: this.breakerState };
      }
      if (this.stopping.signal.aborted) return { ok: false, reason: 'stopped', latencyMs: elapsed(), breaker: this.breakerState };
      if (error instanceof TaskCancelledError || error instanceof DependencyTimeout) {
        return { ok: false, reason: 'timeout', latencyMs: elapsed(), breaker: this.breakerState };
      }
      throw error;
    }
  }

  /** Ends calls in flight (they answer "stopped") so the server can close without waiting for hung calls. */
  stop(): void {
    this.stopping.abort();
  }

  /** The dependency itself: answers after `latencyMs`, or, while down, never (until the timeout cancels the wait). */
  private simulate(signal: AbortSignal): Promise<void> {
    const down = this.options.isDown();
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(new DependencyTimeout('dependency call cancelled'));
      const timer = down ? undefined : setTimeout(finish, this.options.latencyMs);
      signal.addEventListener('abort', onAbort, { once: true });
      function finish() {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }
      function onAbort() {
        if (timer) clearTimeout(timer);
        reject(new DependencyTimeout('dependency did not answer'));
      }
    });
  }
}
