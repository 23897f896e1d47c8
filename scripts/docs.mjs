#!/usr/bin/env node
// Generates the reference parts of the documentation, so they cannot drift from their sources:
//   - docs/configuration-reference.md from schema/rollgate.schema.json (every key: type, default, allowed values);
//   - for every actions/<name>/action.yml, the inputs and outputs tables in actions/<name>/README.md, between
//     <!-- inputs:start --> / <!-- inputs:end --> and <!-- outputs:start --> / <!-- outputs:end -->.
// Usage: node scripts/docs.mjs [--check] [--root DIR]
//   --check     write nothing; exit 1 naming every file that differs from what would be generated
//   --root DIR  the repository to read and write (default: the one this script is in)
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';

const SCHEMA_FILE = 'schema/rollgate.schema.json';
const REFERENCE_FILE = 'docs/configuration-reference.md';

function parseArgs(argv) {
  const options = { check: false, root: resolve(dirname(fileURLToPath(import.meta.url)), '..') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check') options.check = true;
    else if (arg === '--root' && argv[i + 1]) options.root = resolve(argv[++i]);
    else if (arg.startsWith('--root=')) options.root = resolve(arg.slice('--root='.length));
    else fail(`unknown argument "${arg}" (usage: node scripts/docs.mjs [--check] [--root DIR])`);
  }
  return options;
}

function fail(message) {
  console.error(`docs: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown helpers

/** Text safe inside a table cell: one line, pipes escaped (GitHub needs that even inside code spans). */
function cell(text) {
  return String(text ?? '').replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

function code(value) {
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

function table(head, rows) {
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// docs/configuration-reference.md

const DURATION_NOTE = 'A duration: milliseconds as a number, or a string like 500ms, 5s, 2m, 1h';
const STATUS_PATTERN = '^([1-5]xx|[1-5]\\d\\d(-[1-5]\\d\\d)?)$';
const KNOWN_PATTERNS = new Map([
  ['^\\d{4}-\\d{2}-\\d{2}$', 'a date `YYYY-MM-DD`'],
  ['^[a-z0-9][a-z0-9_-]*$', 'lowercase letters, digits, `-` and `_`, starting with a letter or digit'],
]);
/** zod writes int() as this maximum; it says nothing to a reader. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The default a description states: "(default 16)", "(default: all)", "Default: 2xx", "Default 30s.", "auto (default) ...". */
function defaultFrom(description) {
  if (!description) return '';
  const inParens = /\(default:?\s+([^)]+)\)/i.exec(description);
  if (inParens) return inParens[1].trim();
  const leading = /^Default:?\s+(.+?)(?:\s+\(|\.\s|\.$|$)/.exec(description);
  if (leading) return leading[1].trim();
  const marked = /^(\S+) \(default\)/.exec(description);
  if (marked) return marked[1];
  return '';
}

function cleanDescription(description) {
  if (!description) return '';
  return description
    .replace(`. ${DURATION_NOTE}`, '')
    .replace(DURATION_NOTE, '')
    .trim();
}

function isDuration(schema) {
  return Array.isArray(schema.type) && schema.type.includes('number') && schema.type.includes('string') && typeof schema.pattern === 'string';
}

function isStatus(schema) {
  return (
    Array.isArray(schema.anyOf) &&
    schema.anyOf.length === 2 &&
    schema.anyOf.some((s) => s.type === 'integer') &&
    schema.anyOf.some((s) => s.type === 'string' && s.pattern === STATUS_PATTERN)
  );
}

/** A status, or a non-empty list of them. */
function isStatusExpectation(schema) {
  return (
    Array.isArray(schema.anyOf) &&
    schema.anyOf.length === 2 &&
    schema.anyOf.some(isStatus) &&
    schema.anyOf.some((s) => s.type === 'array' && s.items && isStatus(s.items))
  );
}

const STATUS_ALLOWED = '`200`, `"2xx"`, `"200-299"` (100 to 599)';

/** A link to a section, resolved when the page is written (a shared section's title can still change). */
function link(section) {
  return `@@link:${section.id}@@`;
}

/** A list of mappings told apart by a constant `type`: the check kinds. */
function isCheckUnion(schema) {
  return Array.isArray(schema.oneOf) && schema.oneOf.every((option) => option.type === 'object' && option.properties?.type?.const !== undefined);
}

function numberRange(schema) {
  const low =
    schema.exclusiveMinimum !== undefined
      ? { text: `> ${schema.exclusiveMinimum}` }
      : schema.minimum !== undefined && schema.minimum > -MAX_SAFE
        ? { value: schema.minimum }
        : undefined;
  const high = schema.maximum !== undefined && schema.maximum < MAX_SAFE ? schema.maximum : undefined;
  if (low?.value !== undefined && high !== undefined) return `${low.value} to ${high}`;
  if (low?.text) return high !== undefined ? `${low.text}, ≤ ${high}` : low.text;
  if (low?.value !== undefined) return `≥ ${low.value}`;
  if (high !== undefined) return `≤ ${high}`;
  return '';
}

function stringRule(schema) {
  const parts = [];
  if (schema.pattern) parts.push(KNOWN_PATTERNS.get(schema.pattern) ?? `matches ${code(schema.pattern)}`);
  if (schema.minLength === 1 && schema.maxLength === undefined) parts.push('not empty');
  else if (schema.minLength !== undefined && schema.maxLength !== undefined) parts.push(`${schema.minLength} to ${schema.maxLength} characters`);
  else if (schema.minLength !== undefined) parts.push(`at least ${schema.minLength} characters`);
  else if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  return parts.join(', ');
}

function joinUnique(parts, separator) {
  return [...new Set(parts.filter(Boolean))].join(separator);
}

class ReferenceBuilder {
  sections = [];
  /** Shape of an object schema (description left out) -> its section, so a shape used in several places is described once. */
  shapes = new Map();

  /**
   * Registers the section of an object schema (unless the same shape already has one) and returns it.
   * `where` = { prefix, path, id, group }: the title is prefix + `path`.
   */
  objectSection(schema, where) {
    const key = JSON.stringify({ ...schema, description: undefined });
    const known = this.shapes.get(key);
    if (known) {
      this.nameSharedSection(known, where);
      return known;
    }
    const section = { id: where.id, title: where.title, prefix: where.prefix, paths: [where.path], group: where.group, intro: where.intro ?? '', rows: [] };
    this.shapes.set(key, section);
    this.sections.push(section);
    const required = new Set(schema.required ?? []);
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      const child = { ...where, path: where.path ? `${where.path}.${name}` : name, intro: undefined };
      const { type, allowed } = this.typeOf(property, child);
      section.rows.push([
        `${code(name)}${required.has(name) ? ' **(required)**' : ''}`,
        type,
        defaultFrom(property.description),
        allowed,
        cleanDescription(property.description),
      ]);
    }
    return section;
  }

  /**
   * A shape met again: within one check kind under another key (faultOn, faultOff), the title names both keys; under
   * the same key in another kind (headers of every check), the title drops the kind.
   */
  nameSharedSection(section, where) {
    if (!section.prefix || where.path === undefined) return;
    if (where.prefix === section.prefix && !section.paths.includes(where.path)) {
      section.paths.push(where.path);
      section.title = `${section.prefix}: ${section.paths.map((path) => code(path)).join(', ')}`;
    } else if (where.prefix !== section.prefix && section.paths.length === 1 && section.paths[0] === where.path) {
      section.title = `any check: ${code(where.path)}`;
    }
  }

  checksSection(schema) {
    const key = JSON.stringify({ ...schema, description: undefined });
    const known = this.shapes.get(key);
    if (known) return known;
    const section = { id: 'checks', title: 'Checks', group: 'checks', intro: '', rows: undefined, list: [] };
    this.shapes.set(key, section);
    this.sections.push(section);
    for (const option of schema.oneOf) {
      const kind = option.properties.type.const;
      const kindSection = this.objectSection(option, {
        prefix: `\`${kind}\` check`,
        path: '',
        id: `check-${slug(kind)}`,
        title: `\`${kind}\` check`,
        group: 'checks',
        intro: `A check with \`type: ${kind}\`. What it verifies and how it fails: [checks.md](checks.md#${slug(kind)}).`,
      });
      section.list.push(`- [\`${kind}\`](#${kindSection.id})`);
    }
    return section;
  }

  /** Type and allowed values of one value; nested mappings get their own section, linked from the type. */
  typeOf(schema, where) {
    if (!schema || Object.keys(schema).filter((k) => k !== 'description').length === 0) return { type: 'any', allowed: '' };
    if (isDuration(schema)) return { type: '[duration](configuration.md#durations)', allowed: '' };
    if (isStatusExpectation(schema)) return { type: 'status or list of statuses (see [status patterns](configuration.md#status-patterns))', allowed: STATUS_ALLOWED };
    if (isStatus(schema)) return { type: '[status](configuration.md#status-patterns)', allowed: STATUS_ALLOWED };
    if (schema.const !== undefined) return { type: typeof schema.const === 'number' ? 'number' : typeof schema.const, allowed: code(schema.const) };
    if (Array.isArray(schema.enum)) return { type: schema.type ?? 'string', allowed: schema.enum.map(code).join(', ') };
    if (Array.isArray(schema.anyOf)) {
      const parts = schema.anyOf.map((option) => this.typeOf(option, where));
      return { type: joinUnique(parts.map((p) => p.type), ' or '), allowed: joinUnique(parts.map((p) => p.allowed), '; ') };
    }
    switch (schema.type) {
      case 'string':
        return { type: 'string', allowed: stringRule(schema) };
      case 'integer':
        return { type: 'integer', allowed: numberRange(schema) };
      case 'number':
        return { type: 'number', allowed: numberRange(schema) };
      case 'boolean':
        return { type: 'boolean', allowed: '' };
      case 'array': {
        if (schema.items && isCheckUnion(schema.items)) {
          const section = this.checksSection(schema.items);
          return { type: `list of [checks](#${section.id})`, allowed: '' };
        }
        const item = this.typeOf(schema.items, { ...where, path: `${where.path}[]` });
        const size = schema.minItems ? `at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}` : '';
        const itemType = item.type === 'any' ? '' : ` of ${item.type.includes(' or ') ? `(${item.type})` : item.type}`;
        return { type: `list${itemType}`, allowed: joinUnique([item.allowed && `each: ${item.allowed}`, size], '; ') };
      }
      case 'object': {
        if (schema.properties) {
          const path = where.path;
          const title = where.prefix ? `${where.prefix}: \`${path}\`` : `\`${path}\``;
          const id = where.prefix ? `${where.id.split('--')[0]}--${slug(path)}` : slug(path);
          const section = this.objectSection(schema, { ...where, title, id });
          return { type: `mapping (${link(section)})`, allowed: '' };
        }
        const value = this.typeOf(schema.additionalProperties, { ...where, path: `${where.path}.<name>` });
        const names = schema.propertyNames?.pattern ? `names: ${KNOWN_PATTERNS.get(schema.propertyNames.pattern) ?? `match ${code(schema.propertyNames.pattern)}`}` : '';
        const valueType = value.type === 'any' ? '' : ` of name → ${value.type.includes(' or ') ? `(${value.type})` : value.type}`;
        return { type: `mapping${valueType}`, allowed: joinUnique([names, value.allowed], '; ') };
      }
      default:
        return { type: JSON.stringify(schema.type ?? 'any'), allowed: '' };
    }
  }
}

function slug(text) {
  return String(text)
    .toLowerCase()
    .replace(/<name>/g, 'name')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function renderReference(schema) {
  const builder = new ReferenceBuilder();
  builder.objectSection(schema, { prefix: '', path: '', id: 'top-level', title: 'Top level', group: 'main', intro: cleanDescription(schema.description) });
  const out = [
    '<!-- Generated by scripts/docs.mjs from schema/rollgate.schema.json. Do not edit: run `npm run docs`. -->',
    '# Configuration reference',
    '',
    'Every key of `rollgate.yml`, generated from [schema/rollgate.schema.json](../schema/rollgate.schema.json), which is',
    'itself generated from the zod schema in `packages/config/schema.ts`. A key not listed here is an error.',
    'The guide to the file (environments, references, conditions, secrets, defaults of `settings`) is',
    '[configuration.md](configuration.md). "Default" is shown where the schema states one.',
    '',
    'Sections:',
    '',
  ];
  const titles = new Map(builder.sections.map((section) => [section.id, section.title]));
  const resolveLinks = (text) => text.replace(/@@link:([a-z0-9-]+)@@/g, (_, id) => `[${titles.get(id)}](#${id})`);
  for (const section of builder.sections) {
    out.push(`${section.group === 'checks' && section.id !== 'checks' ? '  ' : ''}- [${section.title}](#${section.id})`);
  }
  for (const section of builder.sections) {
    const level = section.group === 'checks' && section.id !== 'checks' ? '###' : '##';
    out.push('', `<a id="${section.id}"></a>`, '', `${level} ${section.title}`, '');
    if (section.intro) out.push(section.intro, '');
    if (section.list) {
      out.push('`checks` (shared) and `environments.<name>.checks` hold a list of these; `type` picks the kind:', '', ...section.list);
    } else {
      const rows = section.rows.map((row) => row.map((text, index) => (index === 1 ? resolveLinks(text) : text)));
      out.push(table(['Key', 'Type', 'Default', 'Allowed values', 'Description'], rows));
    }
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// actions/<name>/README.md tables

function inputsTable(action) {
  const rows = Object.entries(action.inputs ?? {}).map(([name, input]) => [
    code(name),
    input?.required ? 'yes' : 'no',
    input?.default === undefined || input.default === '' ? '' : code(String(input.default)),
    input?.description ?? '',
  ]);
  return rows.length ? table(['Input', 'Required', 'Default', 'Description'], rows) : '_This action has no inputs._';
}

function outputsTable(action) {
  const rows = Object.entries(action.outputs ?? {}).map(([name, output]) => [code(name), output?.description ?? '']);
  return rows.length ? table(['Output', 'Description'], rows) : '_This action has no outputs._';
}

function replaceBetween(text, marker, content, file) {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) fail(`${file} has no ${start} ... ${end} markers; add them where the ${marker} table belongs`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

function renderActionReadme(root, name) {
  const actionFile = join(root, 'actions', name, 'action.yml');
  const readmeFile = join('actions', name, 'README.md');
  let action;
  try {
    action = load(readFileSync(actionFile, 'utf8')) ?? {};
  } catch (error) {
    fail(`cannot read actions/${name}/action.yml: ${error.message}`);
  }
  const current = existsSync(join(root, readmeFile))
    ? readFileSync(join(root, readmeFile), 'utf8')
    : `# ${action.name ?? name}\n\n${action.description ?? ''}\n\n## Inputs\n\n<!-- inputs:start -->\n<!-- inputs:end -->\n\n## Outputs\n\n<!-- outputs:start -->\n<!-- outputs:end -->\n`;
  const withInputs = replaceBetween(current, 'inputs', inputsTable(action), readmeFile);
  return replaceBetween(withInputs, 'outputs', outputsTable(action), readmeFile);
}

// ---------------------------------------------------------------------------------------------------------------

function generate(root) {
  const files = new Map();
  let schema;
  try {
    schema = JSON.parse(readFileSync(join(root, SCHEMA_FILE), 'utf8'));
  } catch (error) {
    fail(`cannot read ${SCHEMA_FILE}: ${error.message} (run npm run schema first)`);
  }
  files.set(REFERENCE_FILE, renderReference(schema));
  const actionsDir = join(root, 'actions');
  const actions = existsSync(actionsDir)
    ? readdirSync(actionsDir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(join(actionsDir, entry.name, 'action.yml')))
        .map((entry) => entry.name)
        .sort()
    : [];
  for (const name of actions) files.set(join('actions', name, 'README.md'), renderActionReadme(root, name));
  return files;
}

const options = parseArgs(process.argv.slice(2));
const files = generate(options.root);
if (options.check) {
  const stale = [];
  for (const [file, content] of files) {
    const path = join(options.root, file);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current !== content) stale.push(current === undefined ? `${file} (missing)` : file);
  }
  if (stale.length > 0) {
    console.error(`docs: stale generated documentation: ${stale.join(', ')}`);
    console.error('docs: run `npm run docs` and commit the result (these parts are generated from the schema and action.yml files)');
    process.exit(1);
  }
  console.log(`docs: ${[...files.keys()].join(', ')} are current`);
} else {
  for (const [file, content] of files) {
    const path = join(options.root, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    console.log(`docs: wrote ${file}`);
  }
}
