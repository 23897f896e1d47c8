/**
 * The JSON Schema of rollgate.yml, generated from the zod schema (the single source of truth). Editors autocomplete
 * and check the file through a `# yaml-language-server: $schema=<path or URL of rollgate.schema.json>` comment.
 */
import { z } from 'zod';
import { RollgateConfig } from './schema.js';

/** Identifies the schema; the file itself is schema/rollgate.schema.json. */
export const SCHEMA_ID = 'urn:rollgate:config:v1';

/** Mirrors parseDuration in duration.ts for editors: digits, optional fraction, optional unit. */
const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)?\\s*$';
const DURATION_NOTE = 'A duration: milliseconds as a number, or a string like 500ms, 5s, 2m, 1h';

type JsonObject = { [key: string]: unknown };

export function buildJsonSchema(): object {
  const generated = z.toJSONSchema(RollgateConfig, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' }) as JsonObject;
  const body = rewriteDurations(generated) as JsonObject;
  const { $schema, title, description, ...rest } = body;
  // Fixed key order at the top so the committed file does not churn.
  return { $schema, $id: SCHEMA_ID, title, description, ...rest };
}

/** Durations come out as `type: [number, string]`; give editors the accepted string form and a readable note. */
function rewriteDurations(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteDurations);
  if (typeof node !== 'object' || node === null) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) out[key] = rewriteDurations(value);
  if (isDuration(out)) {
    const note = typeof out.description === 'string' && out.description !== DURATION_NOTE ? `${out.description}. ${DURATION_NOTE}` : DURATION_NOTE;
    return { ...out, description: note, type: ['number', 'string'], minimum: 0, pattern: DURATION_PATTERN, examples: ['5s', 500] };
  }
  return out;
}

function isDuration(node: JsonObject): boolean {
  const type = node.type;
  return Array.isArray(type) && type.length === 2 && type.includes('number') && type.includes('string') && node.anyOf === undefined;
}
