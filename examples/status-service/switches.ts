/**
 * Fault switches of the example service: the knobs the demo, the tests and the docs turn to make it misbehave.
 * They are set at start (options / flags) and at run time through `POST /admin/faults`.
 */
import { z } from 'zod';

export interface Switches {
  /** Added to every service route before it answers (admin and /metrics excepted). */
  latencyMs: number;
  /** Fraction of service-route requests answered 500 (0 = none, 1 = all). */
  errorRate: number;
  /** The simulated dependency stops answering: calls through it hang until the dependency timeout. */
  dependencyDown: boolean;
  /** The MCP endpoint is broken: `true` or `"status"` answers 500, `"garbage"` answers 200 with a body that is not JSON-RPC. */
  mcpBroken: boolean | 'status' | 'garbage';
}

export const noFaults: Readonly<Switches> = Object.freeze({ latencyMs: 0, errorRate: 0, dependencyDown: false, mcpBroken: false });

/** What `POST /admin/faults` accepts: any subset of the switches; unknown keys are refused so typos do not pass silently. */
export const SwitchesPatch = z.strictObject({
  latencyMs: z.number().int().min(0).max(120_000).optional(),
  errorRate: z.number().min(0).max(1).optional(),
  dependencyDown: z.boolean().optional(),
  mcpBroken: z.union([z.boolean(), z.enum(['status', 'garbage'])]).optional(),
});
export type SwitchesPatch = z.infer<typeof SwitchesPatch>;

export function applyPatch(current: Switches, patch: SwitchesPatch): Switches {
  const next: Switches = { ...current };
  if (patch.latencyMs !== undefined) next.latencyMs = patch.latencyMs;
  if (patch.errorRate !== undefined) next.errorRate = patch.errorRate;
  if (patch.dependencyDown !== undefined) next.dependencyDown = patch.dependencyDown;
  if (patch.mcpBroken !== undefined) next.mcpBroken = patch.mcpBroken;
  return next;
}

/** Readable problems of a refused patch: `errorRate: Too big: expected number to be <=1`. */
export function describePatchProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
}

/**
 * A small seeded generator (mulberry32) so an error rate is reproducible in tests: the same seed answers the same
 * requests with 500. Returns numbers in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
