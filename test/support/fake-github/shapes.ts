/**
 * Completes a response body from its OpenAPI schema: handlers state the fields that carry state (ids, numbers, SHAs,
 * states, timestamps, URLs that matter) and every other required field gets a type-correct placeholder, so responses
 * have the shape octokit users expect without the fake spelling out GitHub's 80-field repository object.
 */
import type { Schema } from './openapi.js';

const EPOCH = '2020-01-01T00:00:00Z';

function types(schema: Schema): string[] {
  const type = schema.type;
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string');
  if (schema.properties) return ['object'];
  return [];
}

function alternatives(schema: Schema): Schema[] {
  const list = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  return Array.isArray(list) ? list : [];
}

/** allOf parts merged into one object schema (properties and required lists). */
function flatten(schema: Schema): Schema {
  const parts = schema.allOf as Schema[] | undefined;
  if (!Array.isArray(parts)) return schema;
  const merged: Schema = { ...schema, allOf: undefined as never, type: 'object', properties: {}, required: [] };
  delete merged.allOf;
  for (const part of [schema, ...parts.map(flatten)]) {
    Object.assign(merged.properties as Schema, (part.properties ?? {}) as Schema);
    (merged.required as string[]).push(...((part.required ?? []) as string[]));
  }
  return merged;
}

/** A placeholder value of the schema's type for a field the handler did not set. */
export function placeholder(schema: Schema, key = ''): unknown {
  const flat = flatten(schema);
  const options = alternatives(flat);
  if (options.length > 0) {
    if (options.some((option) => types(option).includes('null'))) return null;
    return placeholder(options[0]!, key);
  }
  const kinds = types(flat);
  if (kinds.includes('null')) return null;
  if (Array.isArray(flat.enum) && flat.enum.length > 0) return flat.enum[0];
  if (flat.default !== undefined) return flat.default;
  switch (kinds[0]) {
    case 'string':
      if (flat.format === 'date-time') return EPOCH;
      if (flat.format === 'date') return EPOCH.slice(0, 10);
      if (flat.format === 'email') return 'nobody@github.invalid';
      if (flat.format === 'uri' || key === 'url' || key.endsWith('_url')) return `https://github.invalid/placeholder/${key || 'url'}`;
      return '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return complete(flat, {});
    default:
      // `{}` is where a recursive schema was cut: nothing is required there.
      return null;
  }
}

/** `value` with every required field the schema names and `value` lacks filled in, recursively. */
export function complete(schema: Schema, value: unknown, key = ''): unknown {
  if (value === undefined) return placeholder(schema, key);
  if (value === null) return null;
  const flat = flatten(schema);
  const options = alternatives(flat);
  if (options.length > 0) {
    if (typeof value !== 'object') return value;
    const wanted = Array.isArray(value) ? 'array' : 'object';
    const option = options.find((candidate) => types(flatten(candidate)).includes(wanted));
    return option ? complete(option, value, key) : value;
  }
  if (Array.isArray(value)) {
    const items = flat.items as Schema | undefined;
    return items ? value.map((item) => complete(items, item, key)) : value;
  }
  if (typeof value !== 'object' || !types(flat).includes('object')) return value;
  const properties = (flat.properties ?? {}) as Record<string, Schema>;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, current] of Object.entries(out)) {
    const property = properties[name];
    if (property && current !== null && typeof current === 'object') out[name] = complete(property, current, name);
  }
  for (const name of (flat.required ?? []) as string[]) {
    if (!(name in out)) out[name] = placeholder(properties[name] ?? {}, name);
  }
  return out;
}
