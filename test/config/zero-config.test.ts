import { describe, expect, it } from '@jest/globals';
import { configFromInputs, parseMultiline, ZERO_CONFIG_ENVIRONMENT } from '../../packages/config/zero-config.js';
import { formatProblem } from '../../packages/config/errors.js';
import { planChecks } from '../../packages/config/plan.js';

describe('parseMultiline', () => {
  it('trims each line, skips blank lines and accepts CRLF, LF and CR endings', () => {
    const input = '  https://a.example/health  \r\n\r\n\thttps://b.example/ready\t\r\n   \nhttps://c.example\rhttps://d.example\r\n';
    expect(parseMultiline(input)).toEqual(['https://a.example/health', 'https://b.example/ready', 'https://c.example', 'https://d.example']);
  });

  it('skips comment lines and returns nothing for an empty input', () => {
    expect(parseMultiline('# staging\nhttps://a.example\n  # later\n')).toEqual(['https://a.example']);
    expect(parseMultiline('')).toEqual([]);
  });
});

describe('configFromInputs', () => {
  it('builds one http check per url and one mcp check per mcp url, with unique names', () => {
    const result = configFromInputs({
      urls: ['https://api.example.com/health', 'https://api.example.com/health?deep=1', 'http://127.0.0.1:8080/'],
      mcpUrls: ['http://127.0.0.1:8080/mcp'],
      expectedStatus: '200, 204',
      maxLatencyMs: '750',
      attempts: '5',
      retryDelay: '1s',
    });
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.config.checks).toEqual([
      { name: 'api.example.com/health', type: 'http', url: 'https://api.example.com/health', expect: { status: [200, 204], maxLatency: 750 } },
      { name: 'api.example.com/health 2', type: 'http', url: 'https://api.example.com/health?deep=1', expect: { status: [200, 204], maxLatency: 750 } },
      { name: '127.0.0.1:8080', type: 'http', url: 'http://127.0.0.1:8080/', expect: { status: [200, 204], maxLatency: 750 } },
      { name: 'mcp 127.0.0.1:8080/mcp', type: 'mcp', url: 'http://127.0.0.1:8080/mcp', expect: { maxLatency: 750 } },
    ]);
    expect(result.config.settings).toEqual({ retries: { attempts: 5, delay: 1000 } });
    expect(Object.keys(result.config.environments)).toEqual([ZERO_CONFIG_ENVIRONMENT]);
  });

  it('produces a configuration the planner accepts, in the named environment', () => {
    const result = configFromInputs({ urls: ['https://api.example.com/health'], mcpUrls: [], expectedStatus: '2xx', environment: 'staging' });
    if (!result.ok) throw new Error('expected a config');
    const plan = planChecks(result.config, 'staging');
    expect(plan.ok && plan.plan.checks.map((check) => check.type)).toEqual(['http']);
    expect(plan.ok && plan.plan.settings.retries.attempts).toBe(1);
  });

  it('treats empty inputs as not given', () => {
    const result = configFromInputs({ urls: ['https://a.example'], mcpUrls: [], expectedStatus: '', maxLatencyMs: '', attempts: '', retryDelay: '' });
    expect(result.ok && result.config.checks).toEqual([{ name: 'a.example', type: 'http', url: 'https://a.example' }]);
  });

  it('names the input in every problem and reports them all at once', () => {
    const result = configFromInputs({
      urls: ['api.example.com/health'],
      mcpUrls: [],
      expectedStatus: 'abc',
      maxLatencyMs: 'fast',
      attempts: '0',
      retryDelay: 'soon',
    });
    if (result.ok) throw new Error('expected problems');
    expect(result.problems.map(formatProblem)).toEqual([
      'input url: "api.example.com/health" is not an http(s) URL (expected an absolute URL such as https://api.example.com/health)',
      'input expected-status: "abc" is not a status (expected 200, 2xx or 200-299, comma-separated list allowed)',
      'input max-latency-ms: "fast" is not a latency (expected milliseconds, e.g. 500, or a duration such as 2s)',
      'input attempts: "0" is not a number of attempts (expected a whole number from 1 to 100, the first attempt included)',
      'input retry-delay: "soon" is not a duration (expected e.g. 500ms, 1s, 2m or a number of milliseconds)',
    ]);
  });

  it('rejects an out-of-range status inside a list', () => {
    const result = configFromInputs({ urls: ['https://a.example'], mcpUrls: [], expectedStatus: '200,700' });
    expect(!result.ok && result.problems.map(formatProblem)).toEqual([
      'input expected-status: "700" is not a status (expected 200, 2xx or 200-299, comma-separated list allowed)',
    ]);
  });

  it('asks for a url when none is given', () => {
    const result = configFromInputs({ urls: [], mcpUrls: [] });
    expect(!result.ok && result.problems.map((problem) => problem.path)).toEqual(['input url']);
  });

  it('reports an environment name the schema does not allow as the environment input', () => {
    const result = configFromInputs({ urls: ['https://a.example'], mcpUrls: [], environment: 'Prod' });
    expect(!result.ok && result.problems.map((problem) => problem.path)).toEqual(['input environment']);
  });
});
