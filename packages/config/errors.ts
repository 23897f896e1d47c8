/**
 * Configuration problems: what is wrong, where (file:line:col and key path) and what was expected. Zod issues are
 * translated here into sentences a user can act on; nothing in this file throws for a user mistake.
 */
import type { z } from 'zod';
import { StatusExpectation, StatusPattern, HeaderValue } from './schema.js';

export interface ConfigProblem {
  /** The file the problem is in, or '' when it comes from somewhere else (action inputs, CLI flags). */
  file: string;
  /** 1-based; 0 when there is no position. */
  line: number;
  /** 1-based; 0 when there is no position. */
  col: number;
  /** Key path such as `checks.2.expect.status` ('' for the whole file), or the input name (`input url`). */
  path: string;
  message: string;
  hint?: string;
}

export type PathSegment = string | number;
export type KeyPath = readonly PathSegment[];

export interface Position {
  line: number;
  col: number;
}

/** Where the values of a configuration came from, so later stages (planning) can point into the file too. */
export interface ProblemSource {
  file: string;
  /** Position of the deepest existing node on the path; `at: 'key'` prefers the key over its value. */
  locate(path: KeyPath, at?: 'key' | 'value'): Position;
}

/** A source without positions, for configurations that were not read from a file. */
export const NO_SOURCE: ProblemSource = { file: '', locate: () => ({ line: 0, col: 0 }) };

export function formatPath(path: KeyPath): string {
  return path.map(String).join('.');
}

/** `file:line:col: key.path: message — hint`, leaving out the parts that are unknown. */
export function formatProblem(problem: ConfigProblem): string {
  let where = '';
  if (problem.file) where = problem.line > 0 ? `${problem.file}:${problem.line}:${problem.col}: ` : `${problem.file}: `;
  const path = problem.path ? `${problem.path}: ` : '';
  const hint = problem.hint ? ` — ${problem.hint}` : '';
  return `${where}${path}${problem.message}${hint}`;
}

export function problemAt(source: ProblemSource, path: KeyPath, message: string, hint?: string, at: 'key' | 'value' = 'value'): ConfigProblem {
  const { line, col } = source.locate(path, at);
  const problem: ConfigProblem = { file: source.file, line, col, path: formatPath(path), message };
  if (hint) problem.hint = hint;
  return problem;
}

export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions ("tpye" -> "type" costs 1). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `word`, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const distance = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return bestDistance <= allowed ? best : undefined;
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const match = closest(word, candidates);
  return match === undefined ? undefined : `did you mean \`${match}\`?`;
}

const MAX_QUOTED = 60;

/** A value as it appears in a message: `string "abc"`, `number 5`, `a list`, ... */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return `string ${quote(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

export function quote(text: string): string {
  const short = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
  return JSON.stringify(short);
}

export function listValues(values: readonly unknown[]): string {
  return values.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))).join(', ');
}

// ---------------------------------------------------------------------------------------------------------------
// Navigating the zod schema, so messages can list the keys allowed at a place and describe what was expected.

interface SchemaDef {
  type: string;
  innerType?: SchemaNode;
  in?: SchemaNode;
  out?: SchemaNode;
  shape?: Record<string, SchemaNode>;
  element?: SchemaNode;
  valueType?: SchemaNode;
  options?: SchemaNode[];
  discriminator?: string;
  values?: unknown[];
  entries?: Record<string, unknown>;
  getter?: () => SchemaNode;
  format?: string;
}
interface SchemaNode {
  def: SchemaDef;
  description?: string;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

function node(schema: z.ZodType): SchemaNode {
  return schema as unknown as SchemaNode;
}

/** Strips optional/default/... wrappers and transforms (messages are about what the user writes: the input side). */
function unwrap(schema: SchemaNode): SchemaNode {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = current.def;
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in && !isDuration(current)) current = def.in;
    else if (def.type === 'lazy' && def.getter) current = def.getter();
    else break;
  }
  return current;
}

/** The first description found while unwrapping (`.describe()` sits on the outermost wrapper). */
function descriptionOf(schema: SchemaNode | undefined): string | undefined {
  let current = schema;
  for (let i = 0; current && i < 20; i++) {
    if (current.description) return current.description;
    const def = current.def;
    current = WRAPPERS.has(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined;
  }
  return undefined;
}

/** The Duration schema is the only pipe from number|string in rollgate's schema. */
function isDuration(schema: SchemaNode): boolean {
  const def = schema.def;
  if (def.type !== 'pipe' || !def.in) return false;
  const input = def.in.def;
  if (input.type !== 'union' || !input.options) return false;
  const types = input.options.map((option) => option.def.type).sort();
  return types.join(',') === 'number,string';
}

function objectOptionFor(union: SchemaNode, value: unknown): SchemaNode | undefined {
  const def = union.def;
  if (!def.options) return undefined;
  if (def.discriminator && isRecord(value)) {
    const tag = value[def.discriminator];
    return def.options.find((option) => literalValues(unwrap(option).def.shape?.[def.discriminator!]).includes(tag));
  }
  return undefined;
}

function literalValues(schema: SchemaNode | undefined): unknown[] {
  if (!schema) return [];
  const def = unwrap(schema).def;
  if (def.type === 'literal') return def.values ?? [];
  if (def.type === 'enum') return Object.values(def.entries ?? {});
  return [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The schema that validates the value at `path`, choosing union members by the data where possible. */
export function schemaAt(root: z.ZodType, path: KeyPath, data: unknown): SchemaNode | undefined {
  let schema: SchemaNode | undefined = node(root);
  let value = data;
  for (const segment of path) {
    if (!schema) return undefined;
    schema = child(unwrap(schema), segment, value);
    value = isRecord(value) || Array.isArray(value) ? (value as Record<string, unknown>)[segment as string] : undefined;
  }
  return schema;
}

function child(schema: SchemaNode, segment: PathSegment, value: unknown): SchemaNode | undefined {
  const def = schema.def;
  switch (def.type) {
    case 'object':
      return def.shape?.[String(segment)];
    case 'array':
      return def.element;
    case 'record':
      return def.valueType;
    case 'union': {
      const chosen = objectOptionFor(schema, value);
      if (chosen) return child(unwrap(chosen), segment, value);
      for (const option of def.options ?? []) {
        const found = child(unwrap(option), segment, value);
        if (found) return found;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Keys allowed in the mapping at `path`; for a union (checks) the member chosen by `type`, else every member's. */
export function allowedKeys(root: z.ZodType, path: KeyPath, data: unknown): { keys: string[]; variant?: string; others: Map<string, string[]> } {
  const schema = schemaAt(root, path, data);
  const others = new Map<string, string[]>();
  if (!schema) return { keys: [], others };
  const target = unwrap(schema);
  if (target.def.type === 'object') return { keys: Object.keys(target.def.shape ?? {}), others };
  if (target.def.type !== 'union') return { keys: [], others };
  const value = valueAt(data, path);
  const chosen = objectOptionFor(target, value);
  const discriminator = target.def.discriminator;
  for (const option of target.def.options ?? []) {
    const shape = unwrap(option).def.shape ?? {};
    const tag = discriminator ? String(literalValues(shape[discriminator])[0] ?? '') : '';
    for (const key of Object.keys(shape)) others.set(key, [...(others.get(key) ?? []), tag]);
  }
  if (chosen) {
    const shape = unwrap(chosen).def.shape ?? {};
    const variant = discriminator ? String(literalValues(shape[discriminator])[0] ?? '') : undefined;
    return variant === undefined ? { keys: Object.keys(shape), others } : { keys: Object.keys(shape), variant, others };
  }
  return { keys: [...others.keys()], others };
}

export function valueAt(data: unknown, path: KeyPath): unknown {
  let value = data;
  for (const segment of path) {
    if (isRecord(value) || Array.isArray(value)) value = (value as Record<string, unknown>)[segment as string];
    else return undefined;
  }
  return value;
}

/** "a string", "a number", "one of: a, b", ... for the schema at a place. */
export function describeExpected(schema: SchemaNode | undefined): string {
  if (!schema) return 'a valid value';
  const known = knownShape(schema);
  if (known) return known;
  const target = unwrap(schema);
  const def = target.def;
  switch (def.type) {
    case 'string':
      return 'a string';
    case 'number':
      return def.format && /int/.test(def.format) ? 'a whole number' : 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping';
    case 'literal':
      return listValues(def.values ?? []);
    case 'enum':
      return `one of: ${listValues(Object.values(def.entries ?? {}))}`;
    case 'union': {
      if (def.discriminator) {
        const tags = (def.options ?? []).flatMap((option) => literalValues(unwrap(option).def.shape?.[def.discriminator!]));
        return `a mapping with ${def.discriminator}: ${listValues(tags)}`;
      }
      const parts = [...new Set((def.options ?? []).map((option) => describeExpected(option)))];
      return parts.length <= 1 ? (parts[0] ?? 'a valid value') : `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}`;
    }
    default:
      return 'a valid value';
  }
}

const DURATION_TEXT = 'a duration such as 500ms, 5s, 2m, 1h or a number of milliseconds';

function knownShape(schema: SchemaNode): string | undefined {
  let current: SchemaNode | undefined = schema;
  for (let i = 0; current && i < 20; i++) {
    if (isDuration(current)) return DURATION_TEXT;
    if (current === node(StatusExpectation)) return 'a status like 200, "2xx" or "200-299", or a list of them';
    if (current === node(StatusPattern)) return 'a status like 200, "2xx" or "200-299"';
    if (current === node(HeaderValue)) return 'a string, or a mapping with value (and secret: true to mask it)';
    const def: SchemaDef = current.def;
    current = WRAPPERS.has(def.type) ? def.innerType : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Zod issues -> problems.

export interface IssueContext {
  schema: z.ZodType;
  /** The validated data (after references were resolved). */
  data: unknown;
  source: ProblemSource;
  /** True when the value at this path holds a secret: such values are never quoted. */
  isSecret?: (path: KeyPath) => boolean;
}

type Issue = z.core.$ZodIssue;

export function problemsFromIssues(issues: readonly Issue[], context: IssueContext): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) problems.push(...translate(issue, [], context));
  // Several rules can reject one value (an empty name is too short and fails the pattern); the first says enough.
  const seen = new Set<string>();
  return sortProblems(problems.filter((problem) => {
    if (seen.has(problem.path)) return false;
    seen.add(problem.path);
    return true;
  }));
}

function translate(issue: Issue, prefix: KeyPath, context: IssueContext): ConfigProblem[] {
  const path: PathSegment[] = [...prefix, ...issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment))];
  const value = valueAt(context.data, path);
  const secret = context.isSecret?.(path) ?? false;
  const got = secret ? 'a secret value' : describeValue(value);
  const gotShort = secret ? 'a secret value' : typeof value === 'string' ? quote(value) : describeValue(value);
  const expected = (): string => describeExpected(schemaAt(context.schema, path, context.data));
  const at = (message: string, hint?: string, where: 'key' | 'value' = 'value'): ConfigProblem[] => [
    problemAt(context.source, path, message, hint, where),
  ];

  switch (issue.code) {
    case 'invalid_type': {
      if (value === undefined) {
        const schema = schemaAt(context.schema, path, context.data);
        const description = descriptionOf(schema);
        return at(`required key is missing (expected ${describeExpected(schema)}${description ? `: ${description}` : ''})`);
      }
      if (issue.expected === 'int') return at(`got ${got} (expected a whole number)`);
      return at(`expected ${expected()}, got ${got}`);
    }
    case 'invalid_value': {
      const values = issue.values;
      if (values.length === 1) return at(`got ${got} (expected ${listValues(values)})`);
      const hint = typeof value === 'string' && !secret ? didYouMean(value, values.map(String)) : undefined;
      return at(`got ${got} (expected one of: ${listValues(values)})`, hint);
    }
    case 'too_small':
    case 'too_big':
      return at(sizeMessage(issue, gotShort));
    case 'invalid_format': {
      const custom = issue.message && !issue.message.startsWith('Invalid') ? issue.message : undefined;
      const rule = custom ?? (issue.pattern ? `expected text matching ${issue.pattern}` : `expected ${issue.format}`);
      return at(`invalid value ${gotShort} (${rule})`);
    }
    case 'not_multiple_of':
      return at(`got ${gotShort} (expected a multiple of ${issue.divisor})`);
    case 'unrecognized_keys':
      return issue.keys.map((key) => unknownKey(path, key, context));
    case 'invalid_key': {
      const reason = issue.issues.map((inner) => innerReason(inner)).join('; ');
      return at(`invalid name ${quote(String(path.at(-1)))} (${reason})`, undefined, 'key');
    }
    case 'invalid_element':
      return at(`invalid entry (${issue.issues.map((inner) => innerReason(inner)).join('; ')})`);
    case 'invalid_union':
      return unionProblems(issue, path, got, context);
    case 'custom':
      // Custom messages (durations) quote the value themselves; a secret must not be quoted.
      return at(secret ? `invalid secret value (expected ${expected()})` : issue.message);
    default:
      return at(secret ? 'invalid value' : readable((issue as { message: string }).message));
  }
}

function sizeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, got: string): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'string':
      if (small && limit === 1) return 'must not be empty (expected at least 1 character)';
      return `${got} is too ${small ? 'short' : 'long'} (expected ${small ? 'at least' : 'at most'} ${limit} characters)`;
    case 'array':
    case 'set':
      if (small && limit === 1) return 'the list is empty (expected at least 1 item)';
      return `the list has too ${small ? 'few' : 'many'} items (expected ${small ? 'at least' : 'at most'} ${limit})`;
    default: {
      const bound = small ? (inclusive ? 'at least' : 'greater than') : inclusive ? 'at most' : 'less than';
      return `got ${got} (expected ${bound} ${limit})`;
    }
  }
}

function innerReason(issue: Issue): string {
  if (issue.code === 'invalid_format' && issue.message && !issue.message.startsWith('Invalid')) return issue.message;
  return readable(issue.message);
}

/** Zod's default sentences without the jargon ("Invalid input: expected string, received number"). */
function readable(message: string): string {
  return message
    .replace(/^Invalid input:\s*/i, '')
    .replace(/^Invalid option:\s*/i, '')
    .replace(/\breceived\b/g, 'got')
    .replace(/^Too (small|big):\s*/i, '');
}

function unknownKey(parent: KeyPath, key: string, context: IssueContext): ConfigProblem {
  const path = [...parent, key];
  const { keys, variant, others } = allowedKeys(context.schema, parent, context.data);
  let hint = didYouMean(key, keys);
  if (!hint) {
    const owners = (others.get(key) ?? []).filter((owner) => owner && owner !== variant);
    if (owners.length > 0 && variant) hint = `\`${key}\` belongs to ${owners.join(', ')} checks, not ${variant} checks`;
  }
  const which = variant ? `a key of ${variant} checks` : 'one of';
  const allowed = keys.length > 0 ? ` (expected ${which}: ${keys.join(', ')})` : '';
  return problemAt(context.source, path, `unknown key ${quote(key)}${allowed}`, hint, 'key');
}

function unionProblems(
  issue: z.core.$ZodIssueInvalidUnion,
  path: KeyPath,
  got: string,
  context: IssueContext,
): ConfigProblem[] {
  if (issue.discriminator !== undefined) {
    // Zod points at the discriminator key (checks.1.type); the options are the valid check types.
    const options = (issue as { options?: unknown[] }).options ?? [];
    const listed = listValues(options);
    const parent = path.at(-1) === issue.discriminator ? path.slice(0, -1) : path;
    const keyPath = [...parent, issue.discriminator];
    const container = valueAt(context.data, parent);
    if (!isRecord(container)) {
      return [problemAt(context.source, parent, `expected a mapping with ${issue.discriminator}: ${listed}, got ${describeValue(container)}`)];
    }
    const tag = container[issue.discriminator];
    if (tag === undefined) {
      return [problemAt(context.source, keyPath, `required key is missing (expected one of: ${listed})`)];
    }
    const hint = typeof tag === 'string' ? didYouMean(tag, options.map(String)) : undefined;
    return [problemAt(context.source, keyPath, `unknown ${issue.discriminator} ${describeValue(tag).replace(/^string /, '')} (expected one of: ${listed})`, hint)];
  }
  if (issue.errors.length === 0) {
    return [problemAt(context.source, path, `${got} matches more than one form (expected ${describeExpected(schemaAt(context.schema, path, context.data))})`)];
  }
  // A branch whose type matched the value explains the real mistake (e.g. the regex of a status string).
  const branch = issue.errors.find((issues) => typeMatched(issues));
  if (branch) return branch.flatMap((inner) => translate(inner, path, context));
  return [problemAt(context.source, path, `expected ${describeExpected(schemaAt(context.schema, path, context.data))}, got ${got}`)];
}

/** False when every issue of the branch says the value at the union's own place has the wrong type. */
function typeMatched(issues: readonly Issue[]): boolean {
  return issues.some((issue) => {
    if (issue.path.length > 0) return true;
    if (issue.code === 'invalid_type') return false;
    if (issue.code === 'invalid_union' && issue.discriminator === undefined) return issue.errors.some((inner) => typeMatched(inner));
    return true;
  });
}
