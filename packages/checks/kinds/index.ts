/** One executor per check kind; the runner picks by `type`. */
import type { CheckSpec } from '../../config/schema.js';
import type { CheckExecutor } from '../model.js';
import { runHttpCheck } from './http.js';
import { runAuthCheck } from './auth.js';
import { runTlsCheck } from './tls.js';
import { runLoadCheck } from './load.js';
import { runCircuitBreakerCheck } from './circuit-breaker.js';

type ExecutorMap = { [K in CheckSpec['type']]: CheckExecutor<Extract<CheckSpec, { type: K }>> };

export const defaultExecutors: ExecutorMap = {
  http: runHttpCheck,
  // Loaded on first use: the MCP SDK is the largest part of a bundle, and runs without MCP checks never pay for it.
  mcp: async (spec, ctx) => (await import('./mcp.js')).runMcpCheck(spec, ctx),
  auth: runAuthCheck,
  tls: runTlsCheck,
  load: runLoadCheck,
  'circuit-breaker': runCircuitBreakerCheck,
};
