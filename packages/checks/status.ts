/**
 * HTTP status expectations: 200, "2xx", "200-299", or a list of those. The schema has already checked the shapes;
 * these functions only compare and describe.
 */
import { STATUS_CODES } from 'node:http';
import type { StatusExpectationSpec } from '../config/schema.js';

type StatusPatternSpec = Extract<StatusExpectationSpec, number | string>;

function patternMatches(status: number, pattern: StatusPatternSpec): boolean {
  if (typeof pattern === 'number') return status === pattern;
  const text = pattern.trim().toLowerCase();
  const klass = /^([1-5])xx$/.exec(text);
  if (klass) return Math.floor(status / 100) === Number(klass[1]);
  const range = /^(\d{3})\s*-\s*(\d{3})$/.exec(text);
  if (range) return status >= Number(range[1]) && status <= Number(range[2]);
  return /^\d{3}$/.test(text) && status === Number(text);
}

export function statusMatches(status: number, expectation: StatusExpectationSpec): boolean {
  const patterns = Array.isArray(expectation) ? expectation : [expectation];
  return patterns.some((pattern) => patternMatches(status, pattern));
}

/** Reads aloud: `2xx`, `200`, `200-299`, `200, 204 or 3xx`. */
export function describeStatusExpectation(expectation: StatusExpectationSpec): string {
  const parts = (Array.isArray(expectation) ? expectation : [expectation]).map((pattern) => String(pattern).trim());
  if (parts.length <= 1) return parts[0] ?? '';
  return `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
}

/** `404 Not Found`, or just the number for codes without a standard reason phrase. */
export function describeStatus(status: number): string {
  const reason = STATUS_CODES[status];
  return reason ? `${status} ${reason}` : String(status);
}
