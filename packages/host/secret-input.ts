/**
 * Parses the `secrets` input: either `${{ toJSON(secrets) }}` (a JSON object) or NAME=value lines.
 * Every value is registered as a secret before anything else can print it.
 */
import type { Secrets } from '../config/secrets.js';

export type SecretInputResult = { ok: true; values: Record<string, string> } | { ok: false; message: string };

export function parseSecretInput(raw: string, secrets: Secrets): SecretInputResult {
  const text = raw.trim();
  if (!text) return { ok: true, values: {} };
  const values: Record<string, string> = {};
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Do not echo the text: it is full of secrets.
      return { ok: false, message: 'input secrets: looks like JSON but does not parse; pass ${{ toJSON(secrets) }} or NAME=value lines' };
    }
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value === 'string') values[name] = value;
    }
  } else {
    const lines = text.split(/\r?\n|\r/);
    for (const [index, line] of lines.entries()) {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith('#')) continue;
      const eq = trimmed.indexOf('=');
      if (eq <= 0) return { ok: false, message: `input secrets, line ${index + 1}: expected NAME=value` };
      values[trimmed.slice(0, eq).trim()] = trimmed.slice(eq + 1);
    }
  }
  for (const value of Object.values(values)) secrets.add(value);
  return { ok: true, values };
}
