/**
 * The validate engine: turns a config file (or zero-config inputs) into a plan, runs it, and builds the report.
 * Hosts (the action, the CLI) only gather inputs and present the result.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { planChecks, type ValidationPlan } from '../config/plan.js';
import { configFromInputs, type ZeroConfigInputs as ZeroConfigFields } from '../config/zero-config.js';
import type { ConfigProblem } from '../config/errors.js';
import { Environment, type DeploySpec, type EnvironmentConfig, type RollgateConfig } from '../config/schema.js';
import { NO_SOURCE, problemsFromIssues } from '../config/errors.js';
import { load as loadYaml } from 'js-yaml';
import type { Secrets } from '../config/secrets.js';
import { runChecks } from '../checks/runner.js';
import { closeHttpAgents } from '../checks/http-client.js';
import type { CheckResult, Logger } from '../checks/model.js';
import { buildReport, type ValidationReport } from '../report/model.js';
import { ROLLGATE_VERSION } from '../version.js';

export const DEFAULT_CONFIG_PATH = '.github/rollgate.yml';

/** The zero-config inputs as hosts gather them; the environment comes from the request. */
export type ZeroConfigInputs = Omit<ZeroConfigFields, 'environment'>;

export interface ValidateRequest {
  /** The config path the user gave, if any. */
  configPath?: string;
  environment?: string;
  zeroConfig: ZeroConfigInputs;
  cwd: string;
  env: Record<string, string | undefined>;
  secretValues: Record<string, string>;
  secrets: Secrets;
  /** YAML or JSON mapping laid over the chosen environment's section for this run (e.g. a per-PR url). */
  overrides?: string;
}

export interface PreparedValidation {
  plan: ValidationPlan;
  service?: string | undefined;
  /** The config file, or "inputs". */
  source: string;
  baseDir: string;
  /** Extra CA certificates (PEM) from settings.ca. */
  ca?: string;
  /** The environment's deploy section, when it has one. */
  deploy?: DeploySpec;
}

export type PrepareResult = { ok: true; prepared: PreparedValidation } | { ok: false; problems: ConfigProblem[] };

function usageProblem(message: string, path = ''): ConfigProblem {
  return { file: '', line: 0, col: 0, path, message };
}

/** Values the config marks as secret without a ${secret:} reference (secret headers, auth tokens) are masked too. */
function registerInlineSecrets(plan: ValidationPlan, secrets: Secrets): void {
  for (const check of plan.checks) {
    if (check.type === 'auth') secrets.add(check.token);
    const urls = ['url' in check ? check.url : undefined, ...(check.type === 'circuit-breaker' ? [check.faultOn.url, check.faultOff.url] : [])];
    for (const url of urls) for (const value of urlCredentials(url)) secrets.add(value);
    const headerSets = [
      'headers' in check ? check.headers : undefined,
      check.type === 'circuit-breaker' ? check.faultOn.headers : undefined,
      check.type === 'circuit-breaker' ? check.faultOff.headers : undefined,
    ];
    for (const headers of headerSets) {
      for (const value of Object.values(headers ?? {})) {
        if (typeof value === 'object' && value.secret) secrets.add(value.value);
      }
    }
  }
}

/**
 * Lays the overrides mapping over one environment's section (objects merge key by key, anything else replaces) and
 * validates the result with the same schema. Problems name the overrides input, not the file.
 */
function applyOverrides(
  config: RollgateConfig,
  environment: string,
  text: string,
): { ok: true; environment: EnvironmentConfig; keys: ReadonlySet<string> } | { ok: false; problems: ConfigProblem[] } {
  let parsed: unknown;
  try {
    parsed = loadYaml(text);
  } catch (error) {
    return { ok: false, problems: [usageProblem(`does not parse as YAML or JSON: ${(error as Error).message.split('\n')[0]}`, 'overrides')] };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, problems: [usageProblem('expected a mapping of environment keys, e.g. "url: https://pr-42.example.com"', 'overrides')] };
  }
  const merged = deepMerge(config.environments[environment] ?? {}, parsed as Record<string, unknown>);
  const checked = Environment.safeParse(merged);
  if (checked.success) return { ok: true, environment: checked.data, keys: new Set(Object.keys(parsed as Record<string, unknown>)) };
  const problems = problemsFromIssues(checked.error.issues, { schema: Environment, data: merged, source: NO_SOURCE }).map((p) => ({
    ...p,
    path: `overrides${p.path ? `.${p.path}` : ''}`,
  }));
  return { ok: false, problems };
}

/** A planning problem under a key the overrides replaced is the overrides' problem, not the file's. */
function blameOverrides(problem: ConfigProblem, environment: string, overridden: ReadonlySet<string>): ConfigProblem {
  const prefix = `environments.${environment}.`;
  if (!problem.path.startsWith(prefix)) return problem;
  const rest = problem.path.slice(prefix.length);
  if (!overridden.has(rest.split('.')[0]!)) return problem;
  return { file: '', line: 0, col: 0, path: `overrides.${rest}`, message: problem.message, ...(problem.hint ? { hint: problem.hint } : {}) };
}

function deepMerge(base: unknown, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = base && typeof base === 'object' && !Array.isArray(base) ? { ...(base as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current) ? deepMerge(current, value as Record<string, unknown>) : value;
  }
  return out;
}

/** Why a file cannot serve as a PEM bundle of CA certificates, or undefined when it can. */
function pemProblem(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${code ?? (error as Error).message})`;
    return `${path} ${reason} (expected a PEM file of CA certificates)`;
  }
  return text.includes('-----BEGIN CERTIFICATE-----') ? undefined : `${path} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`;
}

/** The password of a URL, and `user:password` (whose base64 is what a basic-auth header carries). */
function urlCredentials(url: string | undefined): string[] {
  if (!url?.includes('@')) return [];
  try {
    const parsed = new URL(url);
    if (!parsed.password) return [];
    const password = decodeURIComponent(parsed.password);
    return [password, `${decodeURIComponent(parsed.username)}:${password}`];
  } catch {
    return [];
  }
}

export function prepareValidation(req: ValidateRequest): PrepareResult {
  const result = prepareUnregistered(req);
  if (result.ok) registerInlineSecrets(result.prepared.plan, req.secrets);
  return result;
}

function prepareUnregistered(req: ValidateRequest): PrepareResult {
  const zeroConfig = req.zeroConfig.urls.length > 0 || req.zeroConfig.mcpUrls.length > 0;
  if (zeroConfig && req.configPath) {
    return {
      ok: false,
      problems: [usageProblem('both a config file and url/mcp-url were given; use the config file, or the url inputs for a config-free run, not both')],
    };
  }
  if (zeroConfig) {
    const environment = req.environment || 'default';
    const built = configFromInputs({ ...req.zeroConfig, environment });
    if (!built.ok) return built;
    const planned = planChecks(built.config, environment);
    if (!planned.ok) return planned;
    return { ok: true, prepared: { plan: planned.plan, source: 'inputs', baseDir: req.cwd } };
  }
  const file = resolve(req.cwd, req.configPath || DEFAULT_CONFIG_PATH);
  if (!req.configPath && !existsSync(file)) {
    return {
      ok: false,
      problems: [
        usageProblem(
          `no configuration at ${DEFAULT_CONFIG_PATH} and no url given; pass url (and/or mcp-url) for a quick check, or create ${DEFAULT_CONFIG_PATH} (see docs/configuration.md)`,
        ),
      ],
    };
  }
  const loaded = loadConfig(file, { env: req.env, secrets: req.secrets, secretValues: req.secretValues });
  if (!loaded.ok) return loaded;
  const names = Object.keys(loaded.config.environments);
  let environment = req.environment;
  if (!environment) {
    if (names.length === 1) environment = names[0]!;
    else {
      return {
        ok: false,
        problems: [usageProblem(`${file} defines several environments (${names.join(', ')}); choose one with --environment / the environment input`)],
      };
    }
  }
  let overridden: ReadonlySet<string> = new Set();
  if (req.overrides?.trim()) {
    const applied = applyOverrides(loaded.config, environment, req.overrides);
    if (!applied.ok) return applied;
    loaded.config.environments[environment] = applied.environment;
    overridden = applied.keys;
  }
  const planned = planChecks(loaded.config, environment, loaded.source);
  if (!planned.ok) return { ok: false, problems: planned.problems.map((p) => blameOverrides(p, environment, overridden)) };
  const baseDir = dirname(file);
  const caFile = planned.plan.settings.caFile;
  let ca: string | undefined;
  // The environment's settings win over the top-level ones, so the problem points at whichever set the value.
  const caPathInConfig = loaded.config.environments[environment]?.settings?.ca !== undefined ? ['environments', environment, 'settings', 'ca'] : ['settings', 'ca'];
  const caProblem = (message: string): ConfigProblem => ({ file, ...loaded.source.locate(caPathInConfig, 'value'), path: caPathInConfig.join('.'), message });
  if (caFile) {
    const caPath = resolve(baseDir, caFile);
    const problem = pemProblem(caPath);
    if (problem) return { ok: false, problems: [caProblem(problem)] };
    ca = readFileSync(caPath, 'utf8');
  }
  // Files a check names are read when the file is read: a missing CA file is a config problem, not a failed check.
  const fileProblems: ConfigProblem[] = [];
  for (const check of planned.plan.checks) {
    if (check.type !== 'tls' || !check.ca) continue;
    const problem = pemProblem(resolve(baseDir, check.ca));
    if (!problem) continue;
    const shared = loaded.config.checks?.findIndex((c) => c.name === check.name) ?? -1;
    const own = loaded.config.environments[environment]?.checks?.findIndex((c) => c.name === check.name) ?? -1;
    const at = own >= 0 ? ['environments', environment, 'checks', own, 'ca'] : ['checks', shared, 'ca'];
    fileProblems.push({ file, ...loaded.source.locate(at, 'value'), path: at.join('.'), message: problem });
  }
  if (fileProblems.length > 0) return { ok: false, problems: fileProblems };
  const deploy = loaded.config.environments[environment]?.deploy;
  return {
    ok: true,
    prepared: { plan: planned.plan, service: loaded.config.service, source: file, baseDir, ...(ca ? { ca } : {}), ...(deploy ? { deploy } : {}) },
  };
}

export interface ExecuteOptions {
  log: Logger;
  secrets: Secrets;
  signal?: AbortSignal;
  onResult?: (result: CheckResult) => void;
}

/**
 * Applies settings.logLevel: `debug` brings every request line into the normal log (staging wants that without
 * turning on the runner's debug logging), `warning` keeps only failures.
 */
export function withLogLevel(log: Logger, level: 'debug' | 'info' | 'warning'): Logger {
  if (level === 'debug') return { debug: (m) => log.info(m), info: (m) => log.info(m), warning: (m) => log.warning(m) };
  if (level === 'warning') return { debug: (m) => log.debug(m), info: (m) => log.debug(m), warning: (m) => log.warning(m) };
  return log;
}

export async function executeValidation(prepared: PreparedValidation, options: ExecuteOptions): Promise<ValidationReport> {
  const { plan } = prepared;
  options.log.info(
    `Validating ${plan.environment}: ${plan.checks.length} check(s), up to ${plan.settings.concurrency} at once, deadline ${Math.round(plan.settings.deadlineMs / 1000)} s`,
  );
  try {
    const run = await runChecks(
      { checks: plan.checks, settings: plan.settings },
      {
        log: withLogLevel(options.log, plan.settings.logLevel),
        baseDir: prepared.baseDir,
        ...(prepared.ca ? { ca: prepared.ca } : {}),
        secrets: options.secrets,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onResult ? { onResult: options.onResult } : {}),
      },
    );
    return buildReport({
      version: ROLLGATE_VERSION,
      service: prepared.service,
      environment: plan.environment,
      source: prepared.source,
      startedAt: run.startedAt,
      durationMs: run.durationMs,
      checks: run.results,
    });
  } finally {
    await closeHttpAgents();
  }
}

export type WriteResult = { ok: true; path: string } | { ok: false; message: string };

/**
 * Writes rollgate-validate.json into dir (created if needed). A folder that cannot be written is reported as a value:
 * the results of the run are never lost to it.
 */
export async function writeJsonReport(report: ValidationReport, dir: string, secrets: Secrets): Promise<WriteResult> {
  const path = join(dir, 'rollgate-validate.json');
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(path, secrets.redact(JSON.stringify(report, null, 2)) + '\n', 'utf8');
    return { ok: true, path };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way of that folder' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message;
    return { ok: false, message: `could not write the report to ${path}: ${why}; choose another report folder` };
  }
}
