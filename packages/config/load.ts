/**
 * Loads rollgate.yml: YAML with positions, `${env:NAME}` / `${secret:NAME}` references, then the zod schema.
 * Every user mistake comes back as a list of problems (all of them at once), never as an exception.
 */
import { readFileSync } from 'node:fs';
import {
  CORE_SCHEMA,
  EVENT_ID,
  SCALAR_STYLE,
  YAMLException,
  constructFromEvents,
  getScalarValue,
  mergeTag,
  parseEvents,
  type Event,
} from 'js-yaml';
import { RollgateConfig } from './schema.js';
import type { Secrets } from './secrets.js';
import {
  formatPath,
  problemAt,
  problemsFromIssues,
  sortProblems,
  type ConfigProblem,
  type KeyPath,
  type PathSegment,
  type Position,
  type ProblemSource,
} from './errors.js';

export interface LoadOptions {
  env: Record<string, string | undefined>;
  secrets: Secrets;
  /** Secret values by name (e.g. from the action's inputs); looked up before `env`. */
  secretValues?: Record<string, string>;
}

export type LoadResult =
  | { ok: true; config: RollgateConfig; file: string; source: ProblemSource }
  | { ok: false; problems: ConfigProblem[] };

const YAML_SCHEMA = CORE_SCHEMA.withTags(mergeTag);

export function loadConfig(path: string, opts: LoadOptions): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, problems: [readProblem(path, error)] };
  }
  return parseConfig(text, path, opts);
}

function readProblem(path: string, error: unknown): ConfigProblem {
  const code = (error as NodeJS.ErrnoException).code;
  const message =
    code === 'ENOENT'
      ? `no configuration at ${path}; create it or pass --config / use zero-config inputs url:...`
      : code === 'EISDIR'
        ? `${path} is a directory (expected a rollgate.yml file)`
        : code === 'EACCES'
          ? `cannot read ${path}: permission denied`
          : `cannot read ${path}: ${(error as Error).message}`;
  return { file: path, line: 0, col: 0, path: '', message };
}

/** Parses and validates configuration text; `file` is only used to name the place in problems. */
export function parseConfig(text: string, file: string, opts: LoadOptions): LoadResult {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = new LineIndex(source);

  let events: Event[];
  let documents: unknown[];
  try {
    events = parseEvents(source, { filename: file });
    documents = constructFromEvents(events, { source, filename: file, schema: YAML_SCHEMA });
  } catch (error) {
    if (error instanceof YAMLException) return { ok: false, problems: [syntaxProblem(error, file, lines)] };
    throw error;
  }

  const positions = new PositionMap(source, events, lines);
  const located: ProblemSource = { file, locate: (path, at) => positions.locate(path, at) };
  if (documents.length === 0 || documents[0] === null || documents[0] === undefined) {
    return {
      ok: false,
      problems: [{ file, line: 1, col: 1, path: '', message: 'the file is empty (expected a mapping that starts with `version: 1`)' }],
    };
  }
  if (documents.length > 1) {
    const second = positions.documentStarts[1] ?? { line: 1, col: 1 };
    return {
      ok: false,
      problems: [{ file, ...second, path: '', message: 'the file holds more than one YAML document (expected exactly one; remove the extra `---`)' }],
    };
  }

  const references = resolveReferences(documents[0], opts, positions.plainScalars);
  if (references.value === undefined) {
    return { ok: false, problems: references.problems.map((problem) => problemAt(located, problem.path, problem.message)) };
  }
  const referenceProblems = references.problems.map((problem) => problemAt(located, problem.path, problem.message, problem.hint));

  const parsed = RollgateConfig.safeParse(references.value);
  const schemaProblems = parsed.success
    ? []
    : problemsFromIssues(parsed.error.issues, {
        schema: RollgateConfig,
        data: references.value,
        source: located,
        isSecret: (path) => references.secretPaths.has(formatPath(path)),
      });

  // A reference that failed left its text in place; the schema may complain about that same value again.
  const failedPaths = new Set(referenceProblems.map((problem) => problem.path));
  const problems = [...referenceProblems, ...schemaProblems.filter((problem) => !failedPaths.has(problem.path))];
  if (problems.length > 0 || !parsed.success) {
    return { ok: false, problems: sortProblems(problems).map((problem) => redactProblem(problem, opts.secrets, references.secretValues)) };
  }
  return { ok: true, config: parsed.data, file, source: located };
}

function syntaxProblem(error: YAMLException, file: string, lines: LineIndex): ConfigProblem {
  const mark = error.mark;
  const position = mark ? { line: mark.line + 1, col: mark.column + 1 } : lines.position(0);
  return {
    file,
    ...position,
    path: '',
    message: `YAML syntax error: ${error.reason}`,
    hint: /duplicated mapping key/.test(error.reason)
      ? 'a key may appear only once in a mapping; merge the two entries'
      : 'check the indentation and quoting on this line and the one before',
  };
}

function redactProblem(problem: ConfigProblem, secrets: Secrets, values: Set<string>): ConfigProblem {
  const scrub = (text: string): string => {
    let out = secrets.redact(text);
    for (const value of values) if (value && out.includes(value)) out = out.split(value).join('***');
    return out;
  };
  const result = { ...problem, message: scrub(problem.message) };
  if (problem.hint) result.hint = scrub(problem.hint);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Positions: a map from key path to where its key and its value start in the text.

class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    const breaks = /\r\n|\r|\n/g;
    for (let match = breaks.exec(text); match; match = breaks.exec(text)) this.starts.push(match.index + match[0].length);
  }

  position(offset: number): Position {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, col: offset - this.starts[low]! + 1 };
  }
}

interface Entry {
  key?: Position;
  value?: Position;
}

class PositionMap {
  private readonly entries = new Map<string, Entry>();
  /** Paths of unquoted scalars: only those may turn into numbers or booleans after a reference is resolved. */
  readonly plainScalars = new Set<string>();
  readonly documentStarts: Position[] = [];
  private index = 0;

  constructor(
    private readonly text: string,
    private readonly events: Event[],
    private readonly lines: LineIndex,
  ) {
    while (this.index < events.length) {
      const event = events[this.index]!;
      if (event.type === EVENT_ID.DOCUMENT) {
        this.index++;
        const next = events[this.index];
        if (next && next.type !== EVENT_ID.POP) {
          const start = this.startOf(next);
          this.documentStarts.push(start === undefined ? { line: 1, col: 1 } : this.lines.position(start));
          if (this.documentStarts.length === 1) this.walk([]);
        }
        // Skip whatever is left of this document (later documents are only counted).
        let depth = 0;
        while (this.index < events.length) {
          const current = events[this.index++]!;
          if (current.type === EVENT_ID.SEQUENCE || current.type === EVENT_ID.MAPPING) depth++;
          else if (current.type === EVENT_ID.POP) {
            if (depth === 0) break;
            depth--;
          }
        }
      } else {
        this.index++;
      }
    }
  }

  locate(path: KeyPath, at: 'key' | 'value' = 'value'): Position {
    for (let length = path.length; length >= 0; length--) {
      const entry = this.entries.get(formatPath(path.slice(0, length)));
      if (!entry) continue;
      // A missing key is reported at its parent mapping; an existing one at its value (or key, when asked).
      const exact = length === path.length;
      const position = exact && at === 'key' ? (entry.key ?? entry.value) : (entry.value ?? entry.key);
      if (position) return position;
    }
    return { line: 1, col: 1 };
  }

  private set(path: KeyPath, part: keyof Entry, position: Position | undefined): void {
    if (!position) return;
    const key = formatPath(path);
    const entry = this.entries.get(key) ?? {};
    entry[part] = position;
    this.entries.set(key, entry);
  }

  /** Records the node at events[index] (and its children) under `path`; advances past it. */
  private walk(path: PathSegment[]): void {
    const event = this.events[this.index]!;
    const start = this.startOf(event);
    this.set(path, 'value', start === undefined ? undefined : this.lines.position(start));
    this.index++;
    if (event.type === EVENT_ID.SCALAR && event.style === SCALAR_STYLE.PLAIN) this.plainScalars.add(formatPath(path));
    if (event.type === EVENT_ID.MAPPING) {
      while (this.events[this.index]?.type !== EVENT_ID.POP) {
        const keyEvent = this.events[this.index]!;
        const keyStart = this.startOf(keyEvent);
        let key: string;
        if (keyEvent.type === EVENT_ID.SCALAR) {
          key = getScalarValue(this.text, keyEvent);
          this.index++;
        } else {
          key = '[complex key]';
          this.skip();
        }
        const childPath = [...path, key];
        this.set(childPath, 'key', keyStart === undefined ? undefined : this.lines.position(keyStart));
        this.walk(childPath);
      }
      this.index++;
    } else if (event.type === EVENT_ID.SEQUENCE) {
      let item = 0;
      while (this.events[this.index]?.type !== EVENT_ID.POP) this.walk([...path, item++]);
      this.index++;
    }
  }

  private skip(): void {
    let depth = 0;
    do {
      const event = this.events[this.index++]!;
      if (event.type === EVENT_ID.SEQUENCE || event.type === EVENT_ID.MAPPING) depth++;
      else if (event.type === EVENT_ID.POP) depth--;
    } while (depth > 0 && this.index < this.events.length);
  }

  /** Offset where a node begins as the user sees it: its anchor, tag, quote or block indicator. */
  private startOf(event: Event): number | undefined {
    const candidates: number[] = [];
    if (event.type === EVENT_ID.ALIAS) {
      candidates.push(this.backTo(event.anchorStart, '*'));
    } else if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE || event.type === EVENT_ID.SCALAR) {
      if (event.anchorStart >= 0) candidates.push(this.backTo(event.anchorStart, '&'));
      if (event.tagStart >= 0) candidates.push(event.tagStart);
      if (event.type === EVENT_ID.SCALAR) {
        const value = this.scalarStart(event);
        if (value !== undefined) candidates.push(value);
      } else if (event.start >= 0) {
        candidates.push(event.start);
      }
    }
    return candidates.length > 0 ? Math.min(...candidates) : undefined;
  }

  private backTo(offset: number, marker: string): number {
    return offset > 0 && this.text[offset - 1] === marker ? offset - 1 : offset;
  }

  private scalarStart(event: Extract<Event, { type: typeof EVENT_ID.SCALAR }>): number | undefined {
    if (event.valueStart < 0) return undefined;
    if (event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED) {
      return this.backTo(event.valueStart, event.style === SCALAR_STYLE.SINGLE_QUOTED ? "'" : '"');
    }
    if (event.style === SCALAR_STYLE.LITERAL_BLOCK || event.style === SCALAR_STYLE.FOLDED_BLOCK) {
      // The content starts on the line after the `|` / `>` header; point at the header.
      const headerEnd = this.text.lastIndexOf('\n', event.valueStart - 1);
      const headerStart = headerEnd <= 0 ? 0 : this.text.lastIndexOf('\n', headerEnd - 1) + 1;
      const header = this.text.slice(headerStart, headerEnd);
      const match = /[|>][0-9+-]*[ \t]*(?:#.*)?\r?$/.exec(header);
      return match ? headerStart + match.index : event.valueStart;
    }
    return event.valueStart;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// References: `${env:NAME}` and `${secret:NAME}` inside string values; `$${` is a literal `${`.

interface ReferenceProblem {
  path: KeyPath;
  message: string;
  hint?: string;
}

interface ResolvedReferences {
  value: unknown;
  problems: ReferenceProblem[];
  /** Paths (dotted) whose value contains a secret. */
  secretPaths: Set<string>;
  secretValues: Set<string>;
}

/** Aliases can make a small file expand exponentially; nothing real comes near this. */
const MAX_VALUES = 100_000;
class TooLarge extends Error {}

/** `env:NAME`, `env:NAME:-fallback` (used when NAME is unset or empty), `secret:NAME`. */
/** Keys whose values are URLs, and the point in a URL after which a reference is a path or query component. */
const URL_KEYS: ReadonlySet<string> = new Set(['url', 'statusUrl']);
const URL_COMPONENT_POSITION = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/?#]*)?[/?#]/i;

const REFERENCE = /^(env|secret):([A-Za-z_][A-Za-z0-9_.-]*)(?::-(.*))?$/s;

function resolveReferences(tree: unknown, opts: LoadOptions, plainScalars: ReadonlySet<string>): ResolvedReferences {
  const result: ResolvedReferences = { value: undefined, problems: [], secretPaths: new Set(), secretValues: new Set() };

  const resolveString = (text: string, path: KeyPath): unknown => {
    if (!text.includes('${')) return text;
    // In the path or query of a URL a value is one component: `?k=${secret:T}` must send T, even when T holds & # / +.
    const urlKey = URL_KEYS.has(String(path.at(-1)));
    const component = (value: string, sofar: string) => (urlKey && URL_COMPONENT_POSITION.test(sofar) ? encodeURIComponent(value) : value);
    let out = '';
    let secret = false;
    let failed = false;
    let references = 0;
    let coercible = true;
    for (let i = 0; i < text.length; ) {
      if (text.startsWith('$${', i)) {
        out += '${';
        i += 3;
        coercible = false;
        continue;
      }
      if (!text.startsWith('${', i)) {
        out += text[i];
        i++;
        continue;
      }
      const end = text.indexOf('}', i + 2);
      if (end < 0) {
        result.problems.push({
          path,
          message: `unclosed reference ${JSON.stringify(text.slice(i, i + 30))} (expected \${env:NAME} or \${secret:NAME})`,
          hint: 'write $${ for a literal ${',
        });
        failed = true;
        break;
      }
      const inner = text.slice(i + 2, end);
      const match = REFERENCE.exec(inner);
      references++;
      i = end + 1;
      if (!match) {
        result.problems.push({
          path,
          message: `unknown reference \${${inner}} (expected \${env:NAME} or \${secret:NAME})`,
          hint: 'write $${ for a literal ${',
        });
        failed = true;
        continue;
      }
      const [, kind, name, fallback] = match as unknown as [string, 'env' | 'secret', string, string | undefined];
      if (kind === 'secret' && fallback !== undefined) {
        result.problems.push({ path, message: `secret ${name} cannot have a default (a default would sit in the file in plain text)` });
        failed = true;
        continue;
      }
      if (kind === 'env') {
        const value = opts.env[name] ? opts.env[name] : (fallback ?? opts.env[name]);
        if (value === undefined) {
          result.problems.push({ path, message: `environment variable ${name} is not set; set it or remove the reference` });
          failed = true;
        } else {
          out += component(value, out);
        }
      } else {
        const value = opts.secretValues?.[name] ?? opts.env[name];
        if (value === undefined || value === '') {
          result.problems.push({
            path,
            message: `secret ${name} is ${value === '' ? 'empty' : 'not set'}; provide it (for example as environment variable ${name}) or remove the reference`,
          });
          failed = true;
        } else {
          opts.secrets.add(value);
          result.secretValues.add(value);
          secret = true;
          out += component(value, out);
        }
      }
    }
    if (secret) result.secretPaths.add(formatPath(path));
    if (failed) return text;
    // `attempts: ${env:ATTEMPTS}` (unquoted, nothing else around it) reads like a number, so it becomes one.
    const whole = references === 1 && coercible && /^\$\{env:[^}]*\}$/.test(text) && plainScalars.has(formatPath(path));
    if (whole) {
      if (/^-?\d+(\.\d+)?$/.test(out)) return Number(out);
      if (out === 'true' || out === 'false') return out === 'true';
    }
    return out;
  };

  let visited = 0;
  const visit = (value: unknown, path: PathSegment[]): unknown => {
    if (++visited > MAX_VALUES) throw new TooLarge();
    if (typeof value === 'string') return resolveString(value, path);
    if (Array.isArray(value)) return value.map((item, index) => visit(item, [...path, index]));
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        // defineProperty: a `__proto__` key in YAML is data, not a prototype.
        Object.defineProperty(out, key, { value: visit(item, [...path, key]), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return value;
  };

  try {
    result.value = visit(tree, []);
  } catch (error) {
    if (!(error instanceof TooLarge)) throw error;
    result.value = undefined;
    result.problems = [{ path: [], message: `the configuration expands to more than ${MAX_VALUES} values (through YAML aliases?); expected a hand-sized file` }];
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
