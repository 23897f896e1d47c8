import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig, type LoadResult } from '../../packages/config/load.js';
import { formatProblem, type ConfigProblem } from '../../packages/config/errors.js';
import { Secrets } from '../../packages/config/secrets.js';
import { FixtureDir, positionOf, yaml } from './fixture.js';

const fixtures = new FixtureDir();
afterAll(() => fixtures.remove());

function load(text: string, options: { env?: Record<string, string | undefined>; secretValues?: Record<string, string>; secrets?: Secrets } = {}): {
  result: LoadResult;
  file: string;
} {
  const file = fixtures.write(`rollgate-${Math.random().toString(36).slice(2)}.yml`, text);
  const result = loadConfig(file, { env: options.env ?? {}, secrets: options.secrets ?? new Secrets(), ...(options.secretValues ? { secretValues: options.secretValues } : {}) });
  return { result, file };
}

function problemsOf(result: LoadResult): ConfigProblem[] {
  if (result.ok) throw new Error(`expected problems, the config loaded: ${JSON.stringify(result.config)}`);
  return result.problems;
}

function problemAt(problems: ConfigProblem[], path: string): ConfigProblem {
  const found = problems.find((problem) => problem.path === path);
  if (!found) throw new Error(`no problem at ${path}; got:\n${problems.map(formatProblem).join('\n')}`);
  return found;
}

const VALID = yaml(
  '# yaml-language-server: $schema=../schema/rollgate.schema.json',
  'version: 1',
  'service: status-service',
  'settings:',
  '  concurrency: 8',
  '  deadline: 2m',
  '  timeouts: { connect: 2s, total: 10s }',
  'checks:',
  '  - name: health',
  '    type: http',
  '    url: /health',
  '    expect:',
  '      status: [200, "2xx"]',
  '      body: ["$.status == \\"ok\\""]',
  '      maxLatency: 500ms',
  '  - name: mcp',
  '    type: mcp',
  '    url: /mcp',
  '    expect: { tools: [status] }',
  'environments:',
  '  staging:',
  '    url: http://127.0.0.1:8080',
  '  production:',
  '    url: https://status.example.com',
);

describe('loadConfig', () => {
  it('loads a valid configuration with durations converted to milliseconds', () => {
    const { result, file } = load(VALID);
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.file).toBe(file);
    expect(result.config.settings?.deadline).toBe(120_000);
    expect(result.config.settings?.timeouts).toEqual({ connect: 2000, total: 10_000 });
    expect(result.config.checks?.[0]).toMatchObject({ name: 'health', type: 'http', expect: { status: [200, '2xx'], maxLatency: 500 } });
    expect(Object.keys(result.config.environments)).toEqual(['staging', 'production']);
  });

  it('gives later stages the position of any key path in the file', () => {
    const { result } = load(VALID);
    if (!result.ok) throw new Error('expected the config to load');
    expect(result.source.locate(['checks', 1, 'url'])).toEqual(positionOf(VALID, '/mcp'));
    expect(result.source.locate(['environments', 'production'], 'key')).toEqual(positionOf(VALID, 'production:'));
  });

  it('reports every problem at once, each at the line and column of the offending node', () => {
    const text = yaml(
      'version: 2',
      'settings:',
      '  concurrency: abc',
      '  deadline: soon',
      'checks:',
      '  - name: a',
      '    type: http',
      '    url: 5',
      '    expect:',
      '      status: [2xx, abc, 700]',
      '  - type: tls',
      '    url: example.com:443',
      'environments:',
      '  prod:',
      '    checks: {}',
    );
    const problems = problemsOf(load(text).result);
    const expected: [string, { line: number; col: number }, RegExp][] = [
      ['version', positionOf(text, '2'), /got number 2 \(expected 1\)/],
      ['settings.concurrency', positionOf(text, 'abc'), /expected a number, got string "abc"/],
      ['settings.deadline', positionOf(text, 'soon'), /"soon" is not a duration \(expected/],
      ['checks.0.url', positionOf(text, '5'), /expected a string, got number 5/],
      ['checks.0.expect.status.1', positionOf(text, 'abc', 1), /invalid value "abc" \(expected a status like 200/],
      ['checks.0.expect.status.2', positionOf(text, '700'), /got number 700 \(expected at most 599\)/],
      // A missing key is reported at the mapping that should hold it.
      ['checks.1.name', positionOf(text, 'type: tls'), /required key is missing \(expected a string/],
      ['environments.prod.checks', positionOf(text, '{}'), /expected a list, got a mapping/],
    ];
    for (const [path, position, message] of expected) {
      const problem = problemAt(problems, path);
      expect({ path, line: problem.line, col: problem.col }).toEqual({ path, ...position });
      expect(problem.message).toMatch(message);
    }
    expect(problems).toHaveLength(expected.length);
  });

  it('formats a problem as file:line:col: key.path: message with the hint last', () => {
    const text = yaml('version: 1', 'servce: x', 'environments: { prod: {} }');
    const { result, file } = load(text);
    const [problem] = problemsOf(result);
    const { line, col } = positionOf(text, 'servce');
    expect(formatProblem(problem!)).toBe(
      `${file}:${line}:${col}: servce: unknown key "servce" (expected one of: $schema, version, service, settings, checks, environments) — did you mean \`service\`?`,
    );
  });

  it('suggests the closest key for an unknown key inside a check', () => {
    const text = yaml('version: 1', 'environments:', '  prod:', '    checks:', '      - name: a', '        type: http', '        url: /a', '        expct: { status: 200 }');
    const problem = problemAt(problemsOf(load(text).result), 'environments.prod.checks.0.expct');
    expect(problem).toMatchObject({ ...positionOf(text, 'expct'), hint: 'did you mean `expect`?' });
    expect(problem.message).toContain('expected a key of http checks: name, optional, timeouts, retries, tags, type, url, method, headers, body, expect');
  });

  it('says which check type a key belongs to when it is used in another type', () => {
    const text = yaml('version: 1', 'checks:', '  - name: a', '    type: http', '    url: /a', '    command: node server.js', 'environments: { prod: {} }');
    const problem = problemAt(problemsOf(load(text).result), 'checks.0.command');
    expect(problem.hint).toBe('`command` belongs to mcp checks, not http checks');
  });

  it('lists the valid check types for an unknown type and suggests the closest', () => {
    const text = yaml('version: 1', 'checks:', '  - name: a', '    type: htp', '    url: /a', 'environments: { prod: {} }');
    const problem = problemAt(problemsOf(load(text).result), 'checks.0.type');
    expect(problem).toMatchObject({ ...positionOf(text, 'htp'), hint: 'did you mean `http`?' });
    expect(problem.message).toBe('unknown type "htp" (expected one of: http, mcp, auth, tls, load, circuit-breaker)');
  });

  it('reports a check without a type at the check itself, listing the types', () => {
    const text = yaml('version: 1', 'checks:', '  - name: a', '    url: /a', 'environments: { prod: {} }');
    const problem = problemAt(problemsOf(load(text).result), 'checks.0.type');
    expect(problem).toMatchObject(positionOf(text, 'name: a'));
    expect(problem.message).toContain('required key is missing (expected one of: http, mcp');
  });

  it('suggests the closest value of an enumeration', () => {
    const text = yaml('version: 1', 'settings:', '  retries: { onErrors: [tmeout] }', 'environments: { prod: {} }');
    const problem = problemAt(problemsOf(load(text).result), 'settings.retries.onErrors.0');
    expect(problem).toMatchObject({ ...positionOf(text, 'tmeout'), hint: 'did you mean `timeout`?' });
  });

  it('reports a YAML syntax error at the position js-yaml gives', () => {
    const text = yaml('version: 1', 'checks:', '  - name: a', '   type: http', 'environments: { prod: {} }');
    const [problem, ...rest] = problemsOf(load(text).result);
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ ...positionOf(text, 'type: http'), path: '' });
    expect(problem!.message).toMatch(/^YAML syntax error: bad indentation/);
  });

  it('reports a duplicated key at the second occurrence, also with CRLF line endings', () => {
    const text = ['version: 1', 'service: a', 'environments: { prod: {} }', 'service: b', ''].join('\r\n');
    const [problem] = problemsOf(load(text).result);
    expect(problem).toMatchObject(positionOf(text, 'service', 1));
    expect(problem!.message).toContain('duplicated mapping key');
  });

  it('counts positions correctly in a file with CRLF line endings', () => {
    const text = ['version: 1', 'settings:', '  concurrency: many', 'environments: { prod: {} }', ''].join('\r\n');
    const problem = problemAt(problemsOf(load(text).result), 'settings.concurrency');
    expect(problem).toMatchObject(positionOf(text, 'many'));
  });

  it('reports a missing file with what to do instead', () => {
    const file = `${fixtures.dir}/missing/rollgate.yml`;
    const result = loadConfig(file, { env: {}, secrets: new Secrets() });
    expect(problemsOf(result)).toEqual([
      { file, line: 0, col: 0, path: '', message: `no configuration at ${file}; create it or pass --config / use zero-config inputs url:...` },
    ]);
  });

  it('reports an empty file as one problem instead of a schema dump', () => {
    const problems = problemsOf(load('# nothing here yet\n').result);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain('the file is empty');
  });

  it('refuses a file whose aliases expand exponentially instead of hanging', () => {
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) levels.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    const started = Date.now();
    const problems = problemsOf(load(yaml('version: 1', 'environments: { prod: {} }', ...levels)).result);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain('expands to more than 100000 values');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('points a wrong value reached through an alias at the alias', () => {
    const text = yaml(
      'version: 1',
      'checks:',
      '  - name: a',
      '    type: http',
      '    url: /a',
      '    expect: &strict',
      '      status: nope',
      '  - name: b',
      '    type: http',
      '    url: /b',
      '    expect: *strict',
      'environments: { prod: {} }',
    );
    const problems = problemsOf(load(text).result);
    expect(problemAt(problems, 'checks.0.expect.status')).toMatchObject(positionOf(text, 'nope'));
    expect(problemAt(problems, 'checks.1.expect.status')).toMatchObject(positionOf(text, '*strict'));
  });
});

describe('references to environment variables and secrets', () => {
  const text = yaml(
    'version: 1',
    'settings:',
    '  concurrency: ${env:CONCURRENCY}',
    'checks:',
    '  - name: protected',
    '    type: auth',
    '    url: ${env:BASE}/private',
    '    token: ${secret:API_TOKEN}',
    '    body: "literal $${env:NOT_A_REFERENCE}"',
    'environments: { prod: {} }',
  );

  it('resolves env and secret references and keeps $${ as a literal ${', () => {
    const secrets = new Secrets();
    const { result } = load(text, { env: { CONCURRENCY: '4', BASE: 'https://api.example.com' }, secretValues: { API_TOKEN: 'tok-123456' }, secrets });
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.config.settings?.concurrency).toBe(4);
    expect(result.config.checks?.[0]).toMatchObject({
      url: 'https://api.example.com/private',
      token: 'tok-123456',
      body: 'literal ${env:NOT_A_REFERENCE}',
    });
    expect(secrets.has('tok-123456')).toBe(true);
  });

  it('takes a secret from the environment when no secret value is given', () => {
    const secrets = new Secrets();
    const { result } = load(text, { env: { CONCURRENCY: '4', BASE: 'https://x.example', API_TOKEN: 'from-env-value' }, secrets });
    expect(result.ok).toBe(true);
    expect(secrets.has('from-env-value')).toBe(true);
  });

  it('reports each unset variable at the value that references it', () => {
    const problems = problemsOf(load(text, { env: {} }).result);
    expect(problemAt(problems, 'settings.concurrency')).toMatchObject({
      ...positionOf(text, '${env:CONCURRENCY}'),
      message: 'environment variable CONCURRENCY is not set; set it or remove the reference',
    });
    expect(problemAt(problems, 'checks.0.url')).toMatchObject(positionOf(text, '${env:BASE}'));
    expect(problemAt(problems, 'checks.0.token').message).toMatch(/^secret API_TOKEN is not set/);
    expect(problems).toHaveLength(3);
  });

  it('never puts a secret value in a problem, even when the value is the problem', () => {
    const secretText = yaml(
      'version: 1',
      'settings:',
      '  deadline: ${secret:LONG}',
      '  concurrency: ${secret:LONG}',
      'checks:',
      '  - name: x',
      '    type: auth',
      '    url: https://api.example.com',
      '    token: ${secret:LONG}',
      '    rejectStatus: ${secret:LONG}',
      'environments: { prod: {} }',
    );
    const secrets = new Secrets();
    const problems = problemsOf(load(secretText, { secretValues: { LONG: 'hunter2-very-secret' }, secrets }).result);
    expect(problems.map((problem) => problem.path)).toEqual(['settings.deadline', 'settings.concurrency', 'checks.0.rejectStatus']);
    for (const problem of problems) expect(formatProblem(problem)).not.toContain('hunter2');
    expect(secrets.has('hunter2-very-secret')).toBe(true);
  });

  it('uses the default of ${env:NAME:-default} when the variable is unset or empty, and the variable when set', () => {
    const text = yaml('version: 1', 'environments:', '  local:', '    url: ${env:STATUS_URL:-http://127.0.0.1:8080}');
    for (const [env, expected] of [
      [{}, 'http://127.0.0.1:8080'],
      [{ STATUS_URL: '' }, 'http://127.0.0.1:8080'],
      [{ STATUS_URL: 'http://127.0.0.1:9999' }, 'http://127.0.0.1:9999'],
    ] as const) {
      const { result } = load(text, { env });
      if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
      expect(result.config.environments.local!.url).toBe(expected);
    }
  });

  it('refuses a default on a secret reference, which would put a secret in the file', () => {
    const bad = yaml('version: 1', 'service: ${secret:TOKEN:-plain-text}', 'environments: { prod: {} }');
    const [problem] = problemsOf(load(bad, { env: { TOKEN: 'x-secret-value' } }).result);
    expect(problem!.message).toContain('cannot have a default');
  });

  it('reports unreadable conditions, bad patterns, reversed status ranges and zero timeouts when the file is read, at their positions', () => {
    const text = yaml(
      'version: 1',
      'environments:',
      '  s:',
      '    checks:',
      '      - name: a',
      '        type: http',
      '        url: http://127.0.0.1:1/',
      '        timeouts: { total: 0 }',
      '        expect:',
      '          status: "299-200"',
      '          headers: { x-id: "/([a/" }',
      '          text: { matches: "([a" }',
      '          body:',
      '            - "$.s matches ([a"',
      '            - "this is not a condition"',
    );
    const problems = problemsOf(load(text).result);
    const at = (path: string) => problemAt(problems, path);
    expect(at('environments.s.checks.0.timeouts.total')).toMatchObject(positionOf(text, '0 }'));
    expect(at('environments.s.checks.0.expect.status').message).toContain('low to high');
    expect(at('environments.s.checks.0.expect.headers.x-id')).toMatchObject(positionOf(text, '"/([a/"'));
    expect(at('environments.s.checks.0.expect.text.matches')).toMatchObject(positionOf(text, '"([a"'));
    expect(at('environments.s.checks.0.expect.body.0')).toMatchObject(positionOf(text, '"$.s matches'));
    expect(at('environments.s.checks.0.expect.body.1')).toMatchObject(positionOf(text, '"this is not'));
  });

  it('encodes a reference that stands in the path or query of a URL, and leaves a whole-URL reference as it is', () => {
    const text = yaml(
      'version: 1',
      'environments:',
      '  e:',
      '    url: ${env:BASE}',
      '    checks:',
      '      - { name: q, type: http, url: "/x/${env:SEG}/y?k=${secret:TOK}&z=1" }',
    );
    const { result } = load(text, { env: { BASE: 'http://127.0.0.1:9/api', SEG: 'a/../b', TOK: 'ab#c&z=2+d' } });
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.config.environments.e!.url).toBe('http://127.0.0.1:9/api');
    const url = (result.config.environments.e!.checks![0] as { url: string }).url;
    expect(url).toBe(`/x/${encodeURIComponent('a/../b')}/y?k=${encodeURIComponent('ab#c&z=2+d')}&z=1`);
    expect(new URL(url, 'http://h').searchParams.get('k')).toBe('ab#c&z=2+d');
  });

  it('reports an unknown kind of reference with the escape to use instead', () => {
    const bad = yaml('version: 1', 'service: ${vars:NAME}', 'environments: { prod: {} }');
    const [problem] = problemsOf(load(bad).result);
    expect(problem).toMatchObject({ path: 'service', hint: 'write $${ for a literal ${' });
    expect(problem!.message).toContain('unknown reference ${vars:NAME}');
  });
});
