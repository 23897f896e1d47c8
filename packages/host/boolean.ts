/** Booleans from inputs and job outputs arrive as text; "true"/"false" (any case), "1"/"0", yes/no and "" all behave alike. */
export function parseBoolean(name: string, raw: string, fallback = false): { ok: true; value: boolean } | { ok: false; message: string } {
  const text = raw.trim().toLowerCase();
  if (text === '') return { ok: true, value: fallback };
  if (['true', '1', 'yes', 'on'].includes(text)) return { ok: true, value: true };
  if (['false', '0', 'no', 'off'].includes(text)) return { ok: true, value: false };
  return { ok: false, message: `input ${name}: "${raw}" is not a boolean (expected true or false)` };
}
