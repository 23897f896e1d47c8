import { describe, expect, it } from '@jest/globals';
import { buildJsonSchema, SCHEMA_ID } from '../../packages/config/json-schema.js';

type Json = Record<string, unknown>;
const schema = buildJsonSchema() as Json;
const properties = schema.properties as Record<string, Json>;

describe('buildJsonSchema', () => {
  it('identifies itself and names the file for editors', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(SCHEMA_ID);
    expect(schema.title).toBe('rollgate configuration');
    expect(schema.required).toEqual(expect.arrayContaining(['version', 'environments']));
  });

  it('is the same text every time it is generated', () => {
    expect(JSON.stringify(buildJsonSchema())).toBe(JSON.stringify(schema));
  });

  it('describes durations as a number of milliseconds or a string with a unit', () => {
    const settings = properties.settings!.properties as Record<string, Json>;
    expect(settings.deadline).toMatchObject({ type: ['number', 'string'], minimum: 0, examples: ['5s', 500] });
    const pattern = new RegExp(settings.deadline!.pattern as string);
    expect(['5s', '250ms', '1.5s', '2m', '100'].every((text) => pattern.test(text))).toBe(true);
    expect(pattern.test('soon')).toBe(false);
  });

  it('rejects unknown keys and offers one schema per check type', () => {
    expect(schema.additionalProperties).toBe(false);
    const checks = properties.checks!.items as { oneOf: Json[] };
    const types = checks.oneOf.map((option) => ((option.properties as Record<string, Json>).type as Json).const);
    expect(types).toEqual(['http', 'mcp', 'auth', 'tls', 'load', 'circuit-breaker']);
    expect(checks.oneOf.every((option) => option.additionalProperties === false)).toBe(true);
  });
});
