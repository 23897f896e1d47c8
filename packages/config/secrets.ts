/**
 * Secret values known to this process. Everything that leaves the engine as text (logs, reports, summaries,
 * annotations, outputs) goes through `redact`. Hosts also forward each value to their own masking
 * (core.setSecret on GitHub), line by line for multi-line values.
 */
export type SecretListener = (value: string) => void;

const MASK = '***';

export class Secrets {
  private readonly values = new Set<string>();
  private readonly listeners: SecretListener[] = [];

  /** Registers a secret; empty and very short values are ignored (masking "a" would garble every log). */
  add(value: string | undefined): void {
    if (!value) return;
    const parts = [value, ...value.split(/\r?\n/).map((line) => line.trim())];
    for (const part of parts) {
      if (part.length < 3 || this.values.has(part)) continue;
      for (const form of encodedForms(part)) this.values.add(form);
      for (const listener of this.listeners) listener(part);
    }
  }

  onAdd(listener: SecretListener): void {
    this.listeners.push(listener);
    for (const value of this.values) listener(value);
  }

  has(value: string): boolean {
    return this.values.has(value);
  }

  /**
   * Replaces every known secret (longest first, so a secret containing another is masked whole), then the pieces of a
   * secret that an excerpt cut in two: the start of one just before an ellipsis, the end of one just after it.
   */
  redact(text: string): string {
    if (!text || this.values.size === 0) return redactUrlCredentials(text);
    let out = text;
    const sorted = [...this.values].sort((a, b) => b.length - a.length);
    for (const value of sorted) {
      if (out.includes(value)) out = out.split(value).join(MASK);
    }
    if (out.includes(ELLIPSIS)) out = maskCutPieces(out, sorted);
    return redactUrlCredentials(out);
  }
}

/**
 * The forms in which a value turns up in output: as is, URL-encoded (by encodeURIComponent, or by the URL parser, which
 * leaves more characters alone), base64 (basic auth), and each of those as it reads inside a JSON string (messages and
 * reports quote bodies JSON-escaped). Masking only the raw value would let `a"b` leak as `a\"b`.
 */
function encodedForms(value: string): string[] {
  const base: string[] = [value, encodeURIComponent(value), Buffer.from(value).toString('base64')];
  try {
    base.push(new URL(`http://x/?q=${value}`).search.slice(3), new URL(`http://x/${value}`).pathname.slice(1));
  } catch {
    // Not URL-able: nothing more to add.
  }
  const forms = new Set<string>();
  for (const form of base) {
    forms.add(form);
    const escaped = JSON.stringify(form).slice(1, -1);
    forms.add(escaped);
    // Escaped twice: a JSON report that quotes a message that quoted a body.
    forms.add(JSON.stringify(escaped).slice(1, -1));
  }
  return [...forms].filter((form) => form.length >= 3);
}

const ELLIPSIS = '…';

/** Pieces of at least 3 characters of a secret that touch an ellipsis (where clipped excerpts were cut). */
function maskCutPieces(text: string, secrets: readonly string[]): string {
  let out = '';
  let rest = text;
  for (let at = rest.indexOf(ELLIPSIS); at >= 0; at = rest.indexOf(ELLIPSIS)) {
    let before = rest.slice(0, at);
    let after = rest.slice(at + ELLIPSIS.length);
    for (const secret of secrets) {
      for (let k = Math.min(secret.length - 1, before.length); k >= 3; k--) {
        if (before.endsWith(secret.slice(0, k))) {
          before = before.slice(0, -k) + MASK;
          break;
        }
      }
      for (let k = Math.min(secret.length - 1, after.length); k >= 3; k--) {
        if (after.startsWith(secret.slice(-k))) {
          after = MASK + after.slice(k);
          break;
        }
      }
    }
    out += before + ELLIPSIS;
    rest = after;
  }
  return out + rest;
}

/** Removes user:password@ from any URL in the text. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+)(:[^/\s@]*)?@/gi, `$1${MASK}@`);
}

/** The process-wide registry; hosts subscribe to it. Tests create their own instances. */
export const secrets = new Secrets();
