/**
 * Tool snapshots for the `mcp` check: a JSON file listing each tool's name and input schema, recorded once from a
 * known-good server and compared on every run ("tool drift"). Agents that call the tools break when a tool vanishes
 * or its arguments change shape, so a change must be a deliberate re-recording, never a surprise.
 *
 * File format: `[{ "name": "...", "inputSchema": { ... } }, ...]`, sorted by name, keys sorted, two-space indent,
 * so a re-recording produces a readable diff in review.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface ToolSnapshotEntry {
  name: string;
  inputSchema: unknown;
}

export type SnapshotRead =
  | { kind: 'ok'; tools: ToolSnapshotEntry[] }
  | { kind: 'missing' }
  | { kind: 'invalid'; message: string };

export interface ToolDrift {
  /** On the server, not in the snapshot. */
  added: string[];
  /** In the snapshot, gone from the server. */
  removed: string[];
  /** Same name, different input schema; `detail` says what differs. */
  changed: { name: string; detail: string }[];
}

/** Puts tools in the recorded form: name + input schema only, sorted by name. */
export function snapshotEntries(tools: readonly { name: string; inputSchema?: unknown }[]): ToolSnapshotEntry[] {
  return tools
    .map((tool) => ({ name: tool.name, inputSchema: tool.inputSchema ?? {} }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function formatSnapshot(entries: readonly ToolSnapshotEntry[]): string {
  return `${JSON.stringify(canonical(entries), null, 2)}\n`;
}

export async function writeSnapshot(path: string, entries: readonly ToolSnapshotEntry[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, formatSnapshot(entries), 'utf8');
}

export async function readSnapshot(path: string): Promise<SnapshotRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'invalid', message: `cannot read ${path}: ${(error as Error).message}` };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { kind: 'invalid', message: `${path} is not valid JSON (${(error as Error).message}); re-record it` };
  }
  if (!Array.isArray(data)) return { kind: 'invalid', message: `${path} must hold a JSON array of {name, inputSchema}; found ${typeName(data)}` };
  const tools: ToolSnapshotEntry[] = [];
  for (const [index, item] of data.entries()) {
    if (!item || typeof item !== 'object' || typeof (item as { name?: unknown }).name !== 'string') {
      return { kind: 'invalid', message: `${path}: entry [${index}] has no "name" string (expected {name, inputSchema})` };
    }
    const { name, inputSchema } = item as { name: string; inputSchema?: unknown };
    tools.push({ name, inputSchema: inputSchema ?? {} });
  }
  return { kind: 'ok', tools };
}

/** Compares names and input schemas; key order never counts as a change. */
export function compareTools(recorded: readonly ToolSnapshotEntry[], current: readonly ToolSnapshotEntry[]): ToolDrift {
  const before = new Map(recorded.map((t) => [t.name, t.inputSchema]));
  const now = new Map(current.map((t) => [t.name, t.inputSchema]));
  const added = [...now.keys()].filter((name) => !before.has(name)).sort();
  const removed = [...before.keys()].filter((name) => !now.has(name)).sort();
  const changed: ToolDrift['changed'] = [];
  for (const [name, schema] of now) {
    if (!before.has(name)) continue;
    const old = before.get(name);
    if (JSON.stringify(canonical(old)) !== JSON.stringify(canonical(schema))) changed.push({ name, detail: describeSchemaChange(old, schema) });
  }
  changed.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { added, removed, changed };
}

export function hasDrift(drift: ToolDrift): boolean {
  return drift.added.length + drift.removed.length + drift.changed.length > 0;
}

/** One line per kind of change, e.g. `removed: search; changed: status (property "verbose" added)`. */
export function describeDrift(drift: ToolDrift): string {
  const parts: string[] = [];
  if (drift.removed.length) parts.push(`removed: ${drift.removed.join(', ')}`);
  if (drift.added.length) parts.push(`added: ${drift.added.join(', ')}`);
  if (drift.changed.length) parts.push(`changed: ${drift.changed.map((c) => `${c.name} (${c.detail})`).join('; ')}`);
  return parts.join('; ');
}

/** Says which argument-level parts of an object schema differ; falls back to "input schema differs". */
function describeSchemaChange(before: unknown, after: unknown): string {
  const details: string[] = [];
  const propsBefore = properties(before);
  const propsAfter = properties(after);
  for (const key of Object.keys(propsAfter).sort()) {
    if (!(key in propsBefore)) details.push(`property "${key}" added`);
    else if (JSON.stringify(canonical(propsBefore[key])) !== JSON.stringify(canonical(propsAfter[key]))) {
      details.push(`property "${key}" changed from ${short(propsBefore[key])} to ${short(propsAfter[key])}`);
    }
  }
  for (const key of Object.keys(propsBefore).sort()) if (!(key in propsAfter)) details.push(`property "${key}" removed`);
  const reqBefore = required(before);
  const reqAfter = required(after);
  if (reqBefore.join(',') !== reqAfter.join(',')) details.push(`required [${reqBefore.join(', ')}] -> [${reqAfter.join(', ')}]`);
  return details.length ? details.join(', ') : 'input schema differs outside its properties';
}

function properties(schema: unknown): Record<string, unknown> {
  const props = (schema as { properties?: unknown } | null)?.properties;
  return props && typeof props === 'object' && !Array.isArray(props) ? (props as Record<string, unknown>) : {};
}

function required(schema: unknown): string[] {
  const req = (schema as { required?: unknown } | null)?.required;
  return Array.isArray(req) ? req.filter((r): r is string => typeof r === 'string').sort() : [];
}

function short(value: unknown): string {
  const text = JSON.stringify(canonical(value)) ?? 'nothing';
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** A copy with object keys sorted at every level, so equal schemas serialise identically. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
