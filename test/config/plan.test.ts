import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../packages/config/load.js';
import { planChecks, resolveCheckSettings, joinUrl, defaultSettings, type PlanResult } from '../../packages/config/plan.js';
import { formatProblem, type ConfigProblem, type ProblemSource } from '../../packages/config/errors.js';
import { Secrets } from '../../packages/config/secrets.js';
import type { RollgateConfig } from '../../packages/config/schema.js';
import { FixtureDir, positionOf, yaml } from './fixture.js';

const fixtures = new FixtureDir();
afterAll(() => fixtures.remove());

let counter = 0;
function loaded(text: string): { config: RollgateConfig; source: ProblemSource } {
  const result = loadConfig(fixtures.write(`plan-${counter++}.yml`, text), { env: {}, secrets: new Secrets() });
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return { config: result.config, source: result.source };
}

function problemsOf(result: PlanResult): ConfigProblem[] {
  if (result.ok) throw new Error(`expected problems, got a plan with ${result.plan.checks.length} checks`);
  return result.problems;
}

const CONFIG = yaml(
  'version: 1',
  'settings:',
  '  concurrency: 4',
  '  timeouts: { connect: 1s, total: 20s }',
  '  retries: { attempts: 3, delay: 2s }',
  'checks:',
  '  - name: health',
  '    type: http',
  '    url: /health?full=1',
  '  - name: slow report',
  '    type: http',
  '    url: https://reports.example.com/daily',
  '    timeouts: { total: 2m }',
  '    retries: { attempts: 5, onStatus: [503] }',
  '  - name: cert',
  '    type: tls',
  '    url: status.example.com:443',
  'environments:',
  '  staging:',
  '    url: https://staging.example.com/api/',
  '    settings:',
  '      concurrency: 2',
  '      timeouts: { firstByte: 3s }',
  '      breaker: { failures: 2 }',
  '    skipChecks: [cert]',
  '    checks:',
  '      - name: breaker',
  '        type: circuit-breaker',
  '        url: /status',
  '        faultOn: { url: /admin/fault?on=1, method: POST }',
  '        faultOff: { url: "https://admin.example.com/fault/off", method: POST }',
  '  production:',
  '    url: https://status.example.com',
);

describe('planChecks', () => {
  it('runs the shared checks plus the environment checks, minus the skipped ones', () => {
    const { config } = loaded(CONFIG);
    const result = planChecks(config, 'staging');
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.plan.environment).toBe('staging');
    expect(result.plan.checks.map((check) => check.name)).toEqual(['health', 'slow report', 'breaker']);
  });

  it('resolves relative URLs against the environment url, keeping its path, for checks and breaker faults', () => {
    const { config } = loaded(CONFIG);
    const result = planChecks(config, 'staging');
    if (!result.ok) throw new Error('expected a plan');
    const [health, report, breaker] = result.plan.checks;
    expect(health).toMatchObject({ url: 'https://staging.example.com/api/health?full=1' });
    expect(report).toMatchObject({ url: 'https://reports.example.com/daily' });
    expect(breaker).toMatchObject({
      url: 'https://staging.example.com/api/status',
      faultOn: { url: 'https://staging.example.com/api/admin/fault?on=1', method: 'POST' },
      faultOff: { url: 'https://admin.example.com/fault/off' },
    });
    expect(config.checks?.[0]).toMatchObject({ url: '/health?full=1' });
  });

  it('merges defaults, top-level settings and environment settings field by field', () => {
    const { config } = loaded(CONFIG);
    const result = planChecks(config, 'staging');
    if (!result.ok) throw new Error('expected a plan');
    expect(result.plan.settings).toEqual({
      concurrency: 2,
      deadlineMs: 300_000,
      timeouts: { connect: 1000, firstByte: 3000, total: 20_000 },
      retries: { attempts: 3, delayMs: 2000, backoff: 1, maxDelayMs: 30_000, onStatus: undefined, onErrors: undefined },
      breaker: { failures: 2, halfOpenAfterMs: 30_000 },
      logLevel: 'info',
    });
  });

  it('uses the documented defaults when nothing is configured', () => {
    const { config } = loaded(yaml('version: 1', 'environments: { prod: {} }'));
    const result = planChecks(config, 'prod');
    if (!result.ok) throw new Error('expected a plan');
    expect(result.plan.settings).toEqual(defaultSettings());
    expect(result.plan.settings.timeouts).toEqual({ connect: 5000, firstByte: 10_000, total: 30_000 });
  });

  it('lets a check override timeouts and retries for itself only', () => {
    const { config } = loaded(CONFIG);
    const result = planChecks(config, 'staging');
    if (!result.ok) throw new Error('expected a plan');
    const [health, report] = result.plan.checks;
    expect(resolveCheckSettings(result.plan.settings, health!)).toEqual({
      timeouts: { connect: 1000, firstByte: 3000, total: 20_000 },
      retries: result.plan.settings.retries,
    });
    expect(resolveCheckSettings(result.plan.settings, report!)).toEqual({
      timeouts: { connect: 1000, firstByte: 3000, total: 120_000 },
      retries: { attempts: 5, delayMs: 2000, backoff: 1, maxDelayMs: 30_000, onStatus: [503], onErrors: undefined },
    });
  });

  it('reports an unknown environment with the configured ones and the closest name', () => {
    const { config, source } = loaded(CONFIG);
    const [problem, ...rest] = problemsOf(planChecks(config, 'prodution', source));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({
      ...positionOf(CONFIG, 'environments:'),
      message: 'unknown environment "prodution" (configured: staging, production)',
      hint: 'did you mean `production`?',
    });
  });

  it('reports duplicate check names at the second definition', () => {
    const text = yaml(
      'version: 1',
      'checks:',
      '  - { name: health, type: http, url: /health }',
      'environments:',
      '  prod:',
      '    url: https://example.com',
      '    checks:',
      '      - { name: health, type: http, url: /healthz }',
    );
    const { config, source } = loaded(text);
    const [problem] = problemsOf(planChecks(config, 'prod', source));
    expect(problem).toMatchObject({ path: 'environments.prod.checks.0.name', ...positionOf(text, 'health', 2) });
    expect(problem!.message).toContain('duplicate check name "health" (first used at checks.0.name');
    expect(problem!.hint).toContain('environments.prod.skipChecks');
  });

  it('reports a relative URL in an environment that has no url', () => {
    const text = yaml('version: 1', 'checks:', '  - { name: health, type: http, url: /health }', 'environments:', '  local: {}');
    const { config, source } = loaded(text);
    const [problem] = problemsOf(planChecks(config, 'local', source));
    expect(problem).toMatchObject({ path: 'checks.0.url', ...positionOf(text, '/health') });
    expect(problem!.message).toBe('relative URL "/health" needs a base, but environment local has no url');
  });

  it('reports a skipped check name that no shared check has', () => {
    const text = yaml('version: 1', 'checks:', '  - { name: health, type: http, url: https://e.com/h }', 'environments:', '  prod: { skipChecks: [helth] }');
    const { config, source } = loaded(text);
    const [problem] = problemsOf(planChecks(config, 'prod', source));
    expect(problem).toMatchObject({ path: 'environments.prod.skipChecks.0', hint: 'did you mean `health`?' });
  });

  it('reports an mcp check that sets both url and command at its command, instead of ignoring the command', () => {
    const text = yaml(
      'version: 1',
      'environments:',
      '  prod:',
      '    checks:',
      '      - name: tools',
      '        type: mcp',
      '        url: https://mcp.example.com/mcp',
      '        command: npx',
      '        args: [my-mcp-server]',
    );
    const { config, source } = loaded(text);
    const [problem, ...rest] = problemsOf(planChecks(config, 'prod', source));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ path: 'environments.prod.checks.0.command', ...positionOf(text, 'npx') });
    expect(problem!.message).toBe(
      'an mcp check takes `url` (Streamable HTTP or SSE) or `command` (stdio), not both; it has url "https://mcp.example.com/mcp" and command "npx"',
    );
    expect(problem!.hint).toContain('remove `url`');
  });

  it('works without a source, naming key paths only', () => {
    const { config } = loaded(CONFIG);
    const [problem] = problemsOf(planChecks(config, 'qa'));
    expect(formatProblem(problem!)).toBe('environments: unknown environment "qa" (configured: staging, production)');
  });
});

describe('joinUrl', () => {
  it('appends the relative path and query to the base path', () => {
    expect(joinUrl(new URL('https://a.example/v1'), '/x?y=1')).toBe('https://a.example/v1/x?y=1');
    expect(joinUrl(new URL('http://127.0.0.1:8080/'), '/health')).toBe('http://127.0.0.1:8080/health');
  });

  it('treats //host/path as another host on the same scheme, as URLs do', () => {
    expect(joinUrl(new URL('https://a.example/base/'), '//b.example:8443/ok')).toBe('https://b.example:8443/ok');
  });
});
