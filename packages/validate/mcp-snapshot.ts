/** Records the tool snapshot of one MCP check from a running, known-good server (the `rollgate mcp-snapshot` command). */
import { closest } from '../config/errors.js';
import { resolveCheckSettings } from '../config/plan.js';
import type { McpCheckSpec } from '../config/schema.js';
import { systemClock, type Logger } from '../checks/model.js';
import type { PreparedValidation } from './validate.js';

export type SnapshotResult = { ok: true; path: string; tools: string[] } | { ok: false; usage: boolean; message: string };

export async function recordSnapshotForCheck(
  prepared: PreparedValidation,
  checkName: string,
  options: { log: Logger; out?: string; signal?: AbortSignal },
): Promise<SnapshotResult> {
  const mcpChecks = prepared.plan.checks.filter((c): c is McpCheckSpec => c.type === 'mcp');
  const check = mcpChecks.find((c) => c.name === checkName);
  if (!check) {
    const names = mcpChecks.map((c) => c.name);
    if (names.length === 0) return { ok: false, usage: true, message: `environment ${prepared.plan.environment} has no mcp checks` };
    const guess = closest(checkName, names);
    return {
      ok: false,
      usage: true,
      message: `no mcp check named "${checkName}" in environment ${prepared.plan.environment}${guess ? `; did you mean "${guess}"?` : ''} (mcp checks: ${names.join(', ')})`,
    };
  }
  if (!options.out && !check.expect?.toolSnapshot) {
    return { ok: false, usage: true, message: `check "${checkName}" has no expect.toolSnapshot; set one in the config or pass --out FILE` };
  }
  const { timeouts } = resolveCheckSettings(prepared.plan.settings, check);
  const { recordToolSnapshot } = await import('../checks/kinds/mcp.js');
  try {
    const recorded = await recordToolSnapshot(
      check,
      { signal: options.signal ?? new AbortController().signal, timeouts, log: options.log, clock: systemClock, baseDir: prepared.baseDir },
      options.out,
    );
    return { ok: true, ...recorded };
  } catch (error) {
    return { ok: false, usage: false, message: error instanceof Error ? error.message : String(error) };
  }
}
