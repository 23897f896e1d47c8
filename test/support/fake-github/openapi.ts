/**
 * GitHub's official OpenAPI description (@octokit/openapi) as the fake GitHub's judge: which method + path exists,
 * what a request body and query may hold, and what a response looks like.
 *
 * The 13 MB description is parsed once per jest worker (see `loadDescription`), route templates are compiled once,
 * and JSON schemas are resolved and compiled with ajv only for the operations a test actually calls.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type Schema = JsonObject;

interface Description {
  paths: Record<string, Record<string, JsonObject>>;
  components: JsonObject;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  method: string;
  /** The path template, e.g. `/repos/{owner}/{repo}/deployments`. */
  template: string;
  operationId: string;
  documentationUrl?: string;
  parameters: Parameter[];
  /** The JSON schema of an application/json request body, when the operation takes one (resolved on first call). */
  requestBody?: { required: boolean; schema: () => Schema };
  /** Status code -> JSON schema of the application/json response, for the codes that have one (resolved on first call). */
  responses: Record<string, (() => Schema) | undefined>;
}

export interface RouteMatch {
  operation: Operation;
  params: Record<string, string>;
}

export type PathLookup =
  | { kind: 'found'; match: RouteMatch }
  /** The path exists with other methods. */
  | { kind: 'method-not-allowed'; template: string; allowed: string[] }
  | { kind: 'unknown' };

interface Route {
  template: string;
  segments: string[];
  /** Literal segments count: the more literal, the more specific (`/issues/comments` beats `/issues/{issue_number}`). */
  literals: number;
  /** A trailing `{path}`/`{ref}` parameter may span several segments (`contents/{path}`, `git/ref/{ref}`). */
  greedy: boolean;
  methods: Map<string, JsonObject>;
}

interface Shared {
  description: Description;
  routes: Route[];
  /** `$ref` -> resolved schema (pure data, so test files of a worker can share it). */
  resolved: Map<string, Schema>;
}

const require = createRequire(import.meta.url);
/** Shared across the test files of a jest worker: core modules are the one object jest does not re-create per file. */
const STASH = Symbol.for('rollgate.fake-github.openapi');
const GREEDY_PARAMS = new Set(['path', 'ref']);

function loadShared(): Shared {
  const holder = v8 as unknown as Record<symbol, Shared | undefined>;
  const cached = holder[STASH];
  if (cached) return cached;
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const description = JSON.parse(readFileSync(file, 'utf8')) as Description;
  const routes: Route[] = [];
  for (const [template, item] of Object.entries(description.paths)) {
    const segments = template.split('/').slice(1);
    const methods = new Map<string, JsonObject>();
    for (const [method, operation] of Object.entries(item)) {
      if (['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method)) methods.set(method.toUpperCase(), operation as JsonObject);
    }
    const last = segments.at(-1) ?? '';
    routes.push({
      template,
      segments,
      literals: segments.filter((segment) => !segment.includes('{')).length,
      greedy: GREEDY_PARAMS.has(last.replace(/^\{|\}$/g, '')) && last.startsWith('{'),
      methods,
    });
  }
  // Most specific first: exact-length before greedy, then more literal segments.
  routes.sort((a, b) => Number(a.greedy) - Number(b.greedy) || b.literals - a.literals);
  const shared = { description, routes, resolved: new Map<string, Schema>() };
  holder[STASH] = shared;
  return shared;
}

/** Matches one template against path segments; returns the decoded parameters or undefined. */
function matchRoute(route: Route, segments: string[]): Record<string, string> | undefined {
  if (route.greedy ? segments.length < route.segments.length : segments.length !== route.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const pattern = route.segments[i]!;
    const isLast = i === route.segments.length - 1;
    const actual = route.greedy && isLast ? segments.slice(i).join('/') : segments[i]!;
    const param = /^\{([^}]+)\}$/.exec(pattern);
    if (param) {
      if (actual === '') return undefined;
      params[param[1]!] = safeDecode(actual);
    } else if (pattern.includes('{')) {
      // Mixed segments such as `{owner}.{repo}` do not occur in the paths the project uses; match them loosely.
      const regex = new RegExp(`^${pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+)\\?\}/g, '(?<$1>[^/]+)')}$`);
      const found = regex.exec(actual);
      if (!found) return undefined;
      for (const [name, value] of Object.entries(found.groups ?? {})) params[name] = safeDecode(value);
    } else if (pattern !== actual) {
      return undefined;
    }
  }
  return params;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

let instance: GitHubApiDescription | undefined;

/** The API description, loaded on first use. */
export function githubApi(): GitHubApiDescription {
  return (instance ??= new GitHubApiDescription());
}

/**
 * The API as the description states it. Parsed description and resolved schemas are shared per worker; operations
 * and compiled validators are cached per instance (one per test file, see `githubApi`).
 */
export class GitHubApiDescription {
  private readonly shared = loadShared();
  private readonly operations = new Map<string, Operation>();
  private readonly validators = new Map<Schema, ValidateFunction>();
  private ajvInstance: Ajv | undefined;
  private cycleCuts = 0;

  lookup(method: string, pathname: string): PathLookup {
    const segments = pathname.replace(/\/+$/, '').split('/').slice(1);
    let methodMismatch: { template: string; allowed: string[] } | undefined;
    for (const route of this.shared.routes) {
      const params = matchRoute(route, segments);
      if (!params) continue;
      const raw = route.methods.get(method.toUpperCase());
      if (!raw) {
        methodMismatch ??= { template: route.template, allowed: [...route.methods.keys()] };
        continue;
      }
      return { kind: 'found', match: { operation: this.operation(route.template, method.toUpperCase(), raw), params } };
    }
    return methodMismatch ? { kind: 'method-not-allowed', ...methodMismatch } : { kind: 'unknown' };
  }

  /** The operation for a known template, e.g. `operationFor('POST', '/repos/{owner}/{repo}/deployments')`. */
  operationFor(method: string, template: string): Operation | undefined {
    const raw = this.shared.description.paths[template]?.[method.toLowerCase()];
    return raw ? this.operation(template, method.toUpperCase(), raw) : undefined;
  }

  private operation(template: string, method: string, raw: JsonObject): Operation {
    const key = `${method} ${template}`;
    const cached = this.operations.get(key);
    if (cached) return cached;
    const pathItemParams = (this.shared.description.paths[template]?.parameters ?? []) as Json[];
    const parameters = [...pathItemParams, ...((raw.parameters ?? []) as Json[])].map((entry) => {
      const parameter = this.follow(entry as JsonObject);
      return {
        name: String(parameter.name),
        in: parameter.in as Parameter['in'],
        required: parameter.required === true,
        schema: this.resolve((parameter.schema ?? {}) as JsonObject),
      };
    });
    let requestBody: Operation['requestBody'];
    if (raw.requestBody) {
      const body = this.follow(raw.requestBody as JsonObject);
      const schema = (body.content as JsonObject | undefined)?.['application/json'] as JsonObject | undefined;
      if (schema?.schema) requestBody = { required: body.required === true, schema: this.lazySchema(schema.schema as JsonObject) };
    }
    const responses: Record<string, (() => Schema) | undefined> = {};
    for (const [code, entry] of Object.entries((raw.responses ?? {}) as JsonObject)) {
      const response = this.follow(entry as JsonObject);
      const content = (response.content as JsonObject | undefined)?.['application/json'] as JsonObject | undefined;
      responses[code] = content?.schema ? this.lazySchema(content.schema as JsonObject) : undefined;
    }
    const externalDocs = raw.externalDocs as JsonObject | undefined;
    const operation: Operation = {
      method,
      template,
      operationId: String(raw.operationId),
      documentationUrl: typeof externalDocs?.url === 'string' ? externalDocs.url : undefined,
      parameters,
      requestBody,
      responses,
    };
    this.operations.set(key, operation);
    return operation;
  }

  /** Schemas are resolved on first use: a response schema (a full repository...) is large and rarely needed. */
  private lazySchema(raw: JsonObject): () => Schema {
    let value: Schema | undefined;
    return () => (value ??= this.resolve(raw));
  }

  /** Follows a `$ref` to a component (parameters, responses, request bodies) without resolving nested refs. */
  private follow(node: JsonObject): JsonObject {
    let current = node;
    for (let hops = 0; typeof current.$ref === 'string' && hops < 10; hops++) current = this.pointer(current.$ref);
    return current;
  }

  private pointer(ref: string): JsonObject {
    if (!ref.startsWith('#/')) throw new Error(`fake GitHub: unsupported $ref ${ref}`);
    let node: Json = this.shared.description as unknown as Json;
    for (const part of ref.slice(2).split('/')) {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
      node = (node as JsonObject | undefined)?.[key] ?? null;
    }
    if (!node || typeof node !== 'object') throw new Error(`fake GitHub: $ref ${ref} not found in the OpenAPI description`);
    return node as JsonObject;
  }

  /**
   * A plain JSON Schema (draft 7) from an OpenAPI 3.0 schema: `$ref`s inlined (a cycle becomes `{}`), `nullable`
   * turned into `null` types, documentation keywords dropped.
   */
  resolve(schema: JsonObject, stack: string[] = []): Schema {
    if (typeof schema.$ref === 'string') {
      const ref = schema.$ref;
      if (stack.includes(ref)) {
        this.cycleCuts++;
        return {};
      }
      const cached = this.shared.resolved.get(ref);
      if (cached) return cached;
      const cutsBefore = this.cycleCuts;
      const result = this.resolve(this.pointer(ref), [...stack, ref]);
      // A result cut short by a cycle depends on the refs above it; only cut-free results are reusable anywhere.
      if (this.cycleCuts === cutsBefore) this.shared.resolved.set(ref, result);
      return result;
    }
    const out: Schema = {};
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'description' || key === 'example' || key === 'examples' || key === 'externalDocs' || key.startsWith('x-') || key === 'nullable' || key === 'discriminator') continue;
      if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)) {
        out.properties = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, this.resolve(sub as JsonObject, stack)]));
      } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && value && typeof value === 'object' && !Array.isArray(value)) {
        out[key] = this.resolve(value, stack);
      } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
        out[key] = value.map((sub) => this.resolve(sub as JsonObject, stack));
      } else {
        out[key] = value;
      }
    }
    if (schema.nullable === true) {
      if (typeof out.type === 'string') {
        out.type = [out.type, 'null'];
        if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
      } else {
        return { anyOf: [out, { type: 'null' }] };
      }
    }
    return out;
  }

  private get ajv(): Ajv {
    if (!this.ajvInstance) {
      const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
      addFormats(ajv);
      for (const format of ['int32', 'int64', 'double', 'repo.nwo', 'binary', 'timestamp']) ajv.addFormat(format, true);
      // GitHub answers "" for unset URLs (target_url, environment_url) although the description says format uri.
      ajv.addFormat('uri', (value: string) => value === '' || /^[a-z][a-z0-9+.-]*:[^\s]*$/i.test(value));
      this.ajvInstance = ajv;
    }
    return this.ajvInstance;
  }

  /** Validates `data` against a resolved schema; returns readable problems (empty when valid). */
  validate(schema: Schema, data: unknown): string[] {
    let validator = this.validators.get(schema);
    if (!validator) {
      validator = this.ajv.compile(schema);
      this.validators.set(schema, validator);
    }
    if (validator(data)) return [];
    return describeErrors(validator.errors ?? []);
  }
}

function describeErrors(errors: ErrorObject[]): string[] {
  // oneOf/anyOf failures repeat every branch's complaint; keep the first few distinct ones.
  const messages = new Set<string>();
  for (const error of errors) {
    const where = error.instancePath === '' ? 'body' : `body${error.instancePath.replace(/\//g, '.')}`;
    const extra = error.keyword === 'enum' ? ` (${JSON.stringify((error.params as { allowedValues: unknown }).allowedValues)})` : '';
    messages.add(`${where} ${error.message ?? 'is invalid'}${extra}`);
    if (messages.size >= 6) break;
  }
  return [...messages];
}
