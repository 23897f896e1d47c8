/**
 * Body conditions: a small language people can read aloud, `<path> <operator> <value>`:
 *
 *   $.status == "ok"            $.data.items[0].id >= 3        $.checks.db exists
 *   $.version matches ^1\.      $.tags contains "beta"         $.name != bob
 *
 * Paths start at `$` and step with `.key`, `[0]` (negative counts from the end) or `["any key"]`.
 * Values are JSON literals (numbers, true, false, null, "strings", [..], {..}), 'single-quoted' strings, or bare
 * words taken as strings. `matches` takes a regular expression, bare or as /pattern/flags.
 *
 * Every failure says where it went wrong: the deepest part of the path that exists, what was found there, and
 * what the condition wanted.
 */
import type { Assertion } from './model.js';

export type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'contains' | 'matches' | 'exists';

export type PathSegment = { kind: 'key'; key: string } | { kind: 'index'; index: number };

export interface Condition {
  /** The condition as written (trimmed): used as the assertion's expectation. */
  text: string;
  path: PathSegment[];
  /** The path in canonical spelling, e.g. `$.data.items[0].id`. */
  pathText: string;
  operator: Operator;
  /** The literal to compare with (absent for `exists` and `matches`). */
  value?: unknown;
  /** For `matches`. */
  pattern?: RegExp;
}

export type ParsedCondition = { ok: true; condition: Condition } | { ok: false; message: string };

const OPERATORS = '== != < <= > >= contains matches exists';
const OBSERVED_MAX = 200;
const MESSAGE_VALUE_MAX = 120;

export function parseCondition(text: string): ParsedCondition {
  const source = text.trim();
  const fail = (why: string): ParsedCondition => ({ ok: false, message: `condition \`${source}\`: ${why}` });
  if (!source) return { ok: false, message: 'empty condition (expected e.g. $.status == "ok")' };
  if (!source.startsWith('$')) {
    return fail('a condition starts with a JSON path such as $.status (e.g. `$.status == "ok"`, `$.checks.db exists`)');
  }

  const path: PathSegment[] = [];
  let i = 1;
  while (i < source.length) {
    const ch = source[i]!;
    const rest = source.slice(i);
    if (ch === '.') {
      const key = /^\.([^.[\s=!<>]+)/.exec(rest);
      if (!key) return fail(`expected a key name after "." at column ${i + 1}`);
      path.push({ kind: 'key', key: key[1]! });
      i += key[0].length;
    } else if (ch === '[') {
      const index = /^\[\s*(-?\d+)\s*\]/.exec(rest);
      const doubleQuoted = /^\[\s*("(?:[^"\\]|\\.)*")\s*\]/.exec(rest);
      const singleQuoted = /^\[\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(rest);
      if (index) path.push({ kind: 'index', index: Number(index[1]) });
      else if (doubleQuoted) path.push({ kind: 'key', key: JSON.parse(doubleQuoted[1]!) as string });
      else if (singleQuoted) path.push({ kind: 'key', key: singleQuoted[1]!.replace(/\\(.)/g, '$1') });
      else return fail(`unreadable "[" at column ${i + 1} (use [0] for an element or ["key"] for a key)`);
      i += (index ?? doubleQuoted ?? singleQuoted)![0].length;
    } else if (/[\s=!<>]/.test(ch)) {
      break;
    } else {
      return fail(`unexpected "${ch}" in the path at column ${i + 1} (step with .key, [0] or ["key"])`);
    }
  }
  const pathText = formatPath(path);

  const afterPath = source.slice(i).trimStart();
  const op = /^(==|!=|<=|>=|<|>)/.exec(afterPath) ?? /^(contains|matches|exists)(?=\s|$)/.exec(afterPath);
  if (!op) {
    const hint = /^=(?!=)/.test(afterPath) ? ' (use == to compare)' : '';
    return fail(afterPath ? `unknown operator at "${clip(afterPath, 20)}"${hint}; expected one of ${OPERATORS}` : `expected an operator after ${pathText}: one of ${OPERATORS}`);
  }
  const operator = op[1] as Operator;
  const valueText = afterPath.slice(op[0].length).trim();
  const condition: Condition = { text: source, path, pathText, operator };

  if (operator === 'exists') {
    if (valueText) return fail(`"exists" takes no value (found "${clip(valueText, 40)}")`);
    return { ok: true, condition };
  }
  if (!valueText) return fail(`"${operator}" needs a value, e.g. \`${pathText} ${operator} ${operator === 'matches' ? '^ok$' : '"ok"'}\``);

  if (operator === 'matches') {
    const pattern = compilePattern(valueText);
    if (typeof pattern === 'string') return fail(pattern);
    return { ok: true, condition: { ...condition, pattern } };
  }

  const literal = parseLiteral(valueText);
  if (!literal.ok) return fail(literal.message);
  if (['<', '<=', '>', '>='].includes(operator) && typeof literal.value !== 'number') {
    return fail(`"${operator}" compares numbers, and ${valueText} is not a number`);
  }
  return { ok: true, condition: { ...condition, value: literal.value } };
}

function parseLiteral(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text.startsWith('"') || text.startsWith('[') || text.startsWith('{')) {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (error) {
      return { ok: false, message: `the value ${clip(text, 40)} is not valid JSON (${(error as Error).message})` };
    }
  }
  const single = /^'((?:[^'\\]|\\.)*)'$/.exec(text);
  if (single) return { ok: true, value: single[1]!.replace(/\\(.)/g, '$1') };
  if (/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) return { ok: true, value: Number(text) };
  if (text === 'true') return { ok: true, value: true };
  if (text === 'false') return { ok: true, value: false };
  if (text === 'null') return { ok: true, value: null };
  return { ok: true, value: text };
}

/**
 * A regular expression written bare (`^1\.`), as /pattern/flags or as a "quoted string": the RegExp, or the reason it
 * is unusable. Shared by body conditions and by header and text expectations.
 */
export function compilePattern(text: string): RegExp | string {
  let source = text;
  let flags = '';
  const literal = /^\/(.*)\/([a-z]*)$/s.exec(text);
  if (literal) {
    source = literal[1]!;
    // g and y make RegExp.test stateful, which would make repeated checks disagree with themselves.
    flags = literal[2]!.replace(/[gy]/g, '');
  } else if (text.startsWith('"')) {
    try {
      source = String(JSON.parse(text));
    } catch {
      return `the pattern ${clip(text, 40)} starts with a quote but is not a complete "string"`;
    }
  }
  try {
    return new RegExp(source, flags);
  } catch (error) {
    return `invalid regular expression /${source}/${flags}: ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
}

type Resolved = { ok: true; value: unknown } | { ok: false; reason: string; deepest: unknown };

function resolvePath(root: unknown, path: PathSegment[]): Resolved {
  let current: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const here = formatPath(path.slice(0, i));
    if (segment.kind === 'key') {
      if (!isObject(current)) {
        const hint = Array.isArray(current) ? ` (use ${here}[0] to pick an element)` : '';
        return { ok: false, reason: `${here} is ${typeName(current)}, not an object${hint}`, deepest: current };
      }
      if (!Object.prototype.hasOwnProperty.call(current, segment.key)) {
        return { ok: false, reason: `no key \`${segment.key}\` under ${here} (${listKeys(current)})`, deepest: current };
      }
      current = current[segment.key];
    } else {
      if (!Array.isArray(current)) {
        const hint = isObject(current) ? ` (${listKeys(current)})` : '';
        return { ok: false, reason: `${here} is ${typeName(current)}, not an array${hint}`, deepest: current };
      }
      const index = segment.index < 0 ? current.length + segment.index : segment.index;
      if (index < 0 || index >= current.length) {
        return { ok: false, reason: `no element [${segment.index}] in ${here} (${current.length === 0 ? 'the array is empty' : `length ${current.length}`})`, deepest: current };
      }
      current = current[index];
    }
  }
  return { ok: true, value: current };
}

export function evaluateCondition(cond: Condition, json: unknown): Assertion {
  const resolved = resolvePath(json, cond.path);
  if (!resolved.ok) {
    return { expectation: cond.text, passed: false, observed: observedText(resolved.deepest), message: `${cond.pathText}: ${resolved.reason}` };
  }
  const actual = resolved.value;
  const observed = observedText(actual);
  const pass = (): Assertion => ({ expectation: cond.text, passed: true, observed });
  const fail = (message: string): Assertion => ({ expectation: cond.text, passed: false, observed, message });
  const shown = `${cond.pathText} is ${clip(showValue(actual), MESSAGE_VALUE_MAX)}`;
  const wanted = clip(showValue(cond.value), MESSAGE_VALUE_MAX);

  switch (cond.operator) {
    case 'exists':
      return pass();
    case '==':
      return deepEqual(actual, cond.value) ? pass() : fail(`${shown}, expected == ${wanted}${typeHint(actual, cond.value)}`);
    case '!=':
      return deepEqual(actual, cond.value) ? fail(`${shown}, expected != ${wanted}`) : pass();
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (typeof actual !== 'number') {
        return fail(`${cond.pathText} is ${typeName(actual)} (${clip(showValue(actual), MESSAGE_VALUE_MAX)}), not a number; \`${cond.operator} ${wanted}\` compares numbers`);
      }
      const expected = cond.value as number;
      const ok =
        cond.operator === '<' ? actual < expected : cond.operator === '<=' ? actual <= expected : cond.operator === '>' ? actual > expected : actual >= expected;
      return ok ? pass() : fail(`${shown}, expected ${cond.operator} ${wanted}`);
    }
    case 'contains': {
      if (typeof actual === 'string') {
        if (typeof cond.value === 'object' && cond.value !== null) {
          return fail(`${cond.pathText} is a string; it can only contain text, not ${wanted}`);
        }
        return actual.includes(String(cond.value)) ? pass() : fail(`${shown}, expected it to contain ${wanted}`);
      }
      if (Array.isArray(actual)) {
        return actual.some((item) => deepEqual(item, cond.value)) ? pass() : fail(`${shown}, expected it to contain the element ${wanted}`);
      }
      if (isObject(actual)) {
        if (typeof cond.value !== 'string') return fail(`${cond.pathText} is an object; \`contains\` on an object looks for a key name, and ${wanted} is not a string`);
        return Object.prototype.hasOwnProperty.call(actual, cond.value) ? pass() : fail(`${cond.pathText} has no key \`${cond.value}\` (${listKeys(actual)})`);
      }
      return fail(`${cond.pathText} is ${typeName(actual)} (${clip(showValue(actual), MESSAGE_VALUE_MAX)}); \`contains\` needs a string, an array or an object`);
    }
    case 'matches': {
      if (typeof actual === 'object' || actual === null) {
        return fail(`${cond.pathText} is ${typeName(actual)}; \`matches\` needs a string (or a number or boolean)`);
      }
      const pattern = cond.pattern!;
      return pattern.test(String(actual)) ? pass() : fail(`${shown}, expected it to match /${pattern.source}/${pattern.flags}`);
    }
  }
}

/** Parses and evaluates each condition; an unreadable condition becomes a failed assertion saying why. */
export function checkConditions(texts: readonly string[], json: unknown): Assertion[] {
  return texts.map((text) => {
    const parsed = parseCondition(text);
    return parsed.ok ? evaluateCondition(parsed.condition, json) : { expectation: text.trim(), passed: false, message: parsed.message };
  });
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '$';
  for (const segment of path) {
    if (segment.kind === 'index') out += `[${segment.index}]`;
    else out += /^[A-Za-z_$][\w$-]*$/.test(segment.key) ? `.${segment.key}` : `[${JSON.stringify(segment.key)}]`;
  }
  return out;
}

/** The value as compact JSON, cut to about 200 characters: what an Assertion's `observed` holds. */
export function observedText(value: unknown): string {
  return clip(showValue(value), OBSERVED_MAX);
}

function showValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1)}…`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function listKeys(value: Record<string, unknown>): string {
  const keys = Object.keys(value);
  if (keys.length === 0) return 'it has no keys';
  const shown = keys.slice(0, 10).join(', ');
  return `keys: ${shown}${keys.length > 10 ? `, … ${keys.length - 10} more` : ''}`;
}

/** Explains the classic near miss: 200 vs "200". */
function typeHint(actual: unknown, expected: unknown): string {
  if (typeof actual === typeof expected || String(actual) !== String(expected)) return '';
  if (typeof actual === 'number' && typeof expected === 'string') return ' (the value is a number: write it without quotes)';
  if (typeof actual === 'string' && typeof expected !== 'string') return ` (the value is a string: write "${String(expected)}" in quotes)`;
  return ` (the value is ${typeName(actual)}, the condition compares with ${typeName(expected)})`;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => deepEqual(item, other[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && deepEqual(left[key], right[key]));
}
