import { describe, expect, it } from '@jest/globals';
import { Secrets, redactUrlCredentials } from '../../packages/config/secrets.js';
import { parseSecretInput } from '../../packages/host/secret-input.js';

describe('secret masking', () => {
  it('masks the whole value and each line of a multi-line secret', () => {
    const secrets = new Secrets();
    secrets.add('first-line-secret\nsecond-line-secret');
    expect(secrets.redact('a first-line-secret b second-line-secret c')).toBe('a *** b *** c');
  });

  it('masks URL-encoded and base64 forms of a secret', () => {
    const secrets = new Secrets();
    secrets.add('p@ss word!');
    expect(secrets.redact(`x=${encodeURIComponent('p@ss word!')}`)).toBe('x=***');
    expect(secrets.redact(Buffer.from('p@ss word!').toString('base64'))).toBe('***');
  });

  it('removes credentials from URLs even when they were never registered', () => {
    expect(redactUrlCredentials('see https://user:hunter2@example.test/x')).toBe('see https://***@example.test/x');
  });

  it('tells listeners about values added before and after they subscribe', () => {
    const secrets = new Secrets();
    const seen: string[] = [];
    secrets.add('before-value');
    secrets.onAdd((v) => seen.push(v));
    secrets.add('after-value');
    expect(seen).toEqual(expect.arrayContaining(['before-value', 'after-value']));
  });
});

describe('the secrets input', () => {
  it('accepts toJSON(secrets) and registers every value', () => {
    const secrets = new Secrets();
    const result = parseSecretInput('{"TOKEN":"tok-123456","OTHER":"val-abcdef"}', secrets);
    expect(result).toEqual({ ok: true, values: { TOKEN: 'tok-123456', OTHER: 'val-abcdef' } });
    expect(secrets.redact('tok-123456 val-abcdef')).toBe('*** ***');
  });

  it('accepts NAME=value lines with CRLF endings and blank lines', () => {
    const secrets = new Secrets();
    expect(parseSecretInput('A=one-1\r\n\r\n  B = two=2  \r\n', secrets)).toEqual({ ok: true, values: { A: 'one-1', B: ' two=2' } });
  });

  it('rejects broken JSON without echoing its contents', () => {
    const result = parseSecretInput('{"TOKEN": "super-secret-value"', new Secrets());
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('super-secret-value');
  });
});

describe('secrets in every encoding', () => {
  const value = 'q"uo\\te/S3CR3T ü&x=1';
  const forms = [
    ['raw', value],
    ['JSON-escaped', JSON.stringify(value).slice(1, -1)],
    ['JSON-escaped twice', JSON.stringify(JSON.stringify(value).slice(1, -1)).slice(1, -1)],
    ['encodeURIComponent', encodeURIComponent(value)],
    ['URL query as the URL parser writes it', new URL(`http://h/?t=${value}`).search.slice(3)],
    ['URL query, then JSON-escaped', JSON.stringify(new URL(`http://h/?t=${value}`).search.slice(3)).slice(1, -1)],
    ['URL path', new URL(`http://h/${value}`).pathname.slice(1)],
    ['base64', Buffer.from(value).toString('base64')],
  ] as const;

  it.each(forms)('masks the %s form', (_name, form) => {
    const secrets = new Secrets();
    secrets.add(value);
    expect(secrets.redact(`before ${form} after`)).toBe('before *** after');
  });

  it('keeps a JSON document valid after masking a JSON-escaped secret inside it', () => {
    const secrets = new Secrets();
    secrets.add(value);
    const doc = JSON.stringify({ message: `server said ${JSON.stringify({ token: value })}` });
    const masked = secrets.redact(doc);
    expect(() => JSON.parse(masked) as unknown).not.toThrow();
    expect(masked).not.toContain('S3CR3T');
  });
});

describe('secrets cut by an excerpt', () => {
  it('masks the start of a secret left before an ellipsis and the end of one after it', () => {
    const secrets = new Secrets();
    secrets.add('plainSecretValue123');
    expect(secrets.redact('body starts {"a":"plainSec…')).toBe('body starts {"a":"***…');
    expect(secrets.redact('near `…etValue123"}`')).toBe('near `…***"}`');
  });

  it('leaves ordinary text around an ellipsis alone', () => {
    const secrets = new Secrets();
    secrets.add('plainSecretValue123');
    expect(secrets.redact('waiting… done')).toBe('waiting… done');
  });
});
