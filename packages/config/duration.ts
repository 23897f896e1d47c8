import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "250ms", "5s", "2m", "1h", "1.5s" or a plain number of milliseconds. Returns undefined when unreadable. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) return undefined;
  const amount = Number(match[1]);
  return amount * UNIT_MS[match[2] ?? 'ms']!;
}

/** A duration in config: a number of milliseconds or a string such as "5s"; parsed to milliseconds. */
export const Duration = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${String(value)}" is not a duration (expected e.g. 500ms, 5s, 2m, 1h or a number of milliseconds)` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'A duration: milliseconds as a number, or a string like 500ms, 5s, 2m, 1h', examples: ['5s', 500] });

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
  return `${+(ms / 60_000).toFixed(1)} min`;
}
