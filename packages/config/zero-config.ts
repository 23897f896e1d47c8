/**
 * Zero-config use: a configuration built from a few action inputs / CLI flags (url, mcp-url, expected-status,
 * max-latency-ms, attempts, retry-delay), validated by the same zod schema as rollgate.yml. Problems name the input.
 */
import { parseDuration } from './duration.js';
import { RollgateConfig, StatusPattern } from './schema.js';
import { redactUrlCredentials } from './secrets.js';
import { NO_SOURCE, quote, problemsFromIssues, type ConfigProblem } from './errors.js';

export interface ZeroConfigInputs {
  urls: string[];
  mcpUrls: string[];
  expectedStatus?: string;
  maxLatencyMs?: string;
  attempts?: string;
  retryDelay?: string;
  environment?: string;
  /** How problems name the inputs: `input url` (the action) or `--url` (the CLI). */
  style?: 'action' | 'cli';
}

export type ZeroConfigResult = { ok: true; config: RollgateConfig } | { ok: false; problems: ConfigProblem[] };

/** The environment zero-config checks run in when none is named. */
export const ZERO_CONFIG_ENVIRONMENT = 'default';

/** Lines of a multi-line input: CRLF, LF or CR endings, each line trimmed, blank lines and `#` comments skipped. */
export function parseMultiline(value: string): string[] {
  return value
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

type Label = (input: string) => string;

function inputProblem(label: Label, input: string, message: string): ConfigProblem {
  return { file: '', line: 0, col: 0, path: label(input), message };
}

const STATUS_EXPECTED = 'expected 200, 2xx or 200-299, comma-separated list allowed';

export function configFromInputs(inputs: ZeroConfigInputs): ZeroConfigResult {
  const label: Label = (input) => (inputs.style === 'cli' ? `--${input}` : `input ${input}`);
  const problems: ConfigProblem[] = [];
  const given = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value.trim());

  if (inputs.urls.length === 0 && inputs.mcpUrls.length === 0) {
    problems.push(inputProblem(label, 'url', 'no URL given (expected at least one url or mcp-url, one per line)'));
  }
  for (const url of inputs.urls) checkUrl(label, 'url', url, problems);
  for (const url of inputs.mcpUrls) checkUrl(label, 'mcp-url', url, problems);

  let status: number | string | (number | string)[] | undefined;
  const statusText = given(inputs.expectedStatus);
  if (statusText !== undefined) {
    const parts = statusText.split(/[\s,]+/).filter(Boolean);
    const parsed = parts.map((part) => (/^\d+$/.test(part) ? Number(part) : part));
    const bad = parsed.filter((part) => !StatusPattern.safeParse(part).success);
    if (bad.length > 0 || parts.length === 0) {
      problems.push(inputProblem(label, 'expected-status', `${quote(bad.length > 0 ? String(bad[0]) : statusText)} is not a status (${STATUS_EXPECTED})`));
    } else {
      status = parsed.length === 1 ? parsed[0] : parsed;
    }
  }

  let maxLatency: number | undefined;
  const latencyText = given(inputs.maxLatencyMs);
  if (latencyText !== undefined) {
    maxLatency = parseDuration(latencyText);
    if (maxLatency === undefined) {
      problems.push(inputProblem(label, 'max-latency-ms', `${quote(latencyText)} is not a latency (expected milliseconds, e.g. 500, or a duration such as 2s)`));
    }
  }

  let attempts: number | undefined;
  const attemptsText = given(inputs.attempts);
  if (attemptsText !== undefined) {
    attempts = /^\d+$/.test(attemptsText) ? Number(attemptsText) : undefined;
    if (attempts === undefined || attempts < 1 || attempts > 100) {
      problems.push(inputProblem(label, 'attempts', `${quote(attemptsText)} is not a number of attempts (expected a whole number from 1 to 100, the first attempt included)`));
      attempts = undefined;
    }
  }

  let delay: number | undefined;
  const delayText = given(inputs.retryDelay);
  if (delayText !== undefined) {
    delay = parseDuration(delayText);
    if (delay === undefined) {
      problems.push(inputProblem(label, 'retry-delay', `${quote(delayText)} is not a duration (expected e.g. 500ms, 1s, 2m or a number of milliseconds)`));
    }
  }

  const environment = given(inputs.environment) ?? ZERO_CONFIG_ENVIRONMENT;
  if (problems.length > 0) return { ok: false, problems };

  const names = new Set<string>();
  const checks: Record<string, unknown>[] = [];
  const inputOfPath = new Map<string, string>();
  inputs.urls.forEach((url) => {
    const check: Record<string, unknown> = { name: uniqueName(nameFor(url), names), type: 'http', url };
    const expect: Record<string, unknown> = {};
    if (status !== undefined) expect.status = status;
    if (maxLatency !== undefined) expect.maxLatency = maxLatency;
    if (Object.keys(expect).length > 0) check.expect = expect;
    inputOfPath.set(`checks.${checks.length}.url`, 'url');
    checks.push(check);
  });
  inputs.mcpUrls.forEach((url) => {
    const check: Record<string, unknown> = { name: uniqueName(`mcp ${nameFor(url)}`, names), type: 'mcp', url };
    if (maxLatency !== undefined) check.expect = { maxLatency };
    inputOfPath.set(`checks.${checks.length}.url`, 'mcp-url');
    checks.push(check);
  });

  const retries: Record<string, unknown> = {};
  if (attempts !== undefined) retries.attempts = attempts;
  if (delay !== undefined) retries.delay = delay;
  const raw: Record<string, unknown> = {
    version: 1,
    checks,
    environments: { [environment]: {} },
  };
  if (Object.keys(retries).length > 0) raw.settings = { retries };

  const parsed = RollgateConfig.safeParse(raw);
  if (parsed.success) return { ok: true, config: parsed.data };

  // Whatever the schema still rejects is named after the input it came from.
  const translated = problemsFromIssues(parsed.error.issues, { schema: RollgateConfig, data: raw, source: NO_SOURCE });
  return {
    ok: false,
    problems: translated.map((problem) => ({ ...problem, path: label(inputFor(problem.path, inputOfPath)), message: `${problem.message} (at ${problem.path})` })),
  };
}

function inputFor(path: string, inputOfPath: Map<string, string>): string {
  if (inputOfPath.has(path)) return inputOfPath.get(path)!;
  if (/^checks\.\d+\.name$/.test(path)) return inputOfPath.get(path.replace(/name$/, 'url')) ?? 'url';
  if (/\.expect\.status/.test(path)) return 'expected-status';
  if (/\.expect\.maxLatency/.test(path)) return 'max-latency-ms';
  if (path.startsWith('settings.retries.attempts')) return 'attempts';
  if (path.startsWith('settings.retries.delay')) return 'retry-delay';
  if (path.startsWith('environments')) return 'environment';
  return path;
}

function checkUrl(label: Label, input: string, url: string, problems: ConfigProblem[]): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    problems.push(inputProblem(label, input, `${quote(redactUrlCredentials(url))} is not an http(s) URL (expected an absolute URL such as https://api.example.com/health)`));
  }
}

/** `https://api.example.com/health?x=1` -> `api.example.com/health`; characters a check name cannot hold become `-`. */
function nameFor(url: string): string {
  const parsed = new URL(url);
  const path = parsed.pathname.replace(/\/+$/, '');
  const name = `${parsed.host.replace(/[[\]]/g, '')}${path}`.replace(/[^A-Za-z0-9 ._:/-]/g, '-');
  return /^[A-Za-z0-9]/.test(name) ? name : `check ${name}`;
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base} ${n}`;
  taken.add(name);
  return name;
}
