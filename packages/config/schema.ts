/**
 * The rollgate.yml schema: the single source of truth for configuration. Types used across the engine are
 * inferred from it, and schema/rollgate.schema.json is generated from it (scripts/schema.mjs).
 *
 * Values anywhere may reference `${env:NAME}` (an environment variable) or `${secret:NAME}` (a secret: masked in
 * every log and report). References are resolved by the loader before validation.
 */
import { z } from 'zod';
import { Duration } from './duration.js';
import { compilePattern, parseCondition } from '../checks/conditions.js';

const Name = z
  .string()
  .min(1)
  .max(200)
  .refine((value) => ![...value].some((ch) => ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127), 'a single line of text (no control characters)');

/** Status expectation: 200, "2xx", "200-299", or a list of those. */
export const StatusPattern = z.union([
  z.number().int().min(100).max(599),
  z
    .string()
    .regex(/^([1-5]xx|[1-5]\d\d(-[1-5]\d\d)?)$/, 'expected a status like 200, "2xx" or "200-299"')
    .refine((text) => {
      const [low, high] = text.split('-').map(Number);
      return high === undefined || Number.isNaN(low) || low! <= high;
    }, 'a status range must go from low to high, e.g. "200-299"'),
]);
export const StatusExpectation = z.union([StatusPattern, z.array(StatusPattern).min(1)]);

/** A timeout: zero would fail every attempt and blame the server for it. */
const Timeout = Duration.refine((ms) => ms >= 1, 'a timeout must be at least 1ms');

export const Timeouts = z.strictObject({
  connect: Timeout.optional().describe('Time allowed to open the TCP/TLS connection'),
  firstByte: Timeout.optional().describe('Time allowed from sending the request until response headers arrive'),
  total: Timeout.optional().describe('Time allowed for the whole attempt, body included'),
});

export const RetryErrorKind = z.enum(['timeout', 'connect', 'reset', 'dns', 'tls', 'protocol']);
export const Retries = z.strictObject({
  attempts: z.number().int().min(1).max(100).optional().describe('Total attempts, the first included'),
  delay: Duration.optional().describe('Delay before the second attempt'),
  backoff: z.number().min(1).max(10).optional().describe('Multiplier applied to the delay after each attempt'),
  maxDelay: Duration.optional(),
  onStatus: z.array(StatusPattern).optional().describe('Only failed attempts with these statuses are retried (default: every failed attempt is retried)'),
  onErrors: z.array(RetryErrorKind).optional().describe('Only these transport errors are retried (default: every transport error is retried)'),
});

/** A header value; `secret: true` masks it in logs and reports. */
export const HeaderValue = z.union([z.string(), z.strictObject({ value: z.string(), secret: z.boolean().optional() })]);
export const Headers = z.record(z.string(), HeaderValue);

/**
 * A body condition, readable aloud: `<path> <op> <value>`, e.g. `$.status == "ok"`, `$.latency < 300`,
 * `$.checks.db exists`, `$.version matches ^1\.`. Operators: == != < <= > >= contains matches exists.
 */
export const Condition = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    // Checked when the file is read, so a typo is a config error with its position, not a failed check at run time.
    const parsed = parseCondition(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  });

/** A regular expression (bare, /pattern/flags or "quoted"), checked when the file is read. */
const Pattern = z.string().superRefine((text, ctx) => {
  const compiled = compilePattern(text);
  if (typeof compiled === 'string') ctx.addIssue({ code: 'custom', message: compiled });
});

/** A header expectation: an exact value, or a /regex/ (checked when the file is read). */
const HeaderExpectation = z.string().superRefine((text, ctx) => {
  if (!/^\/.*\/[a-z]*$/s.test(text)) return;
  const compiled = compilePattern(text);
  if (typeof compiled === 'string') ctx.addIssue({ code: 'custom', message: compiled });
});

const CheckBase = {
  name: Name.describe('Unique name of the check, used in reports and alerts'),
  optional: z.boolean().optional().describe('Reported, but a failure does not fail the run'),
  timeouts: Timeouts.optional(),
  retries: Retries.optional(),
  tags: z.array(z.string()).optional(),
};

export const HttpCheck = z.strictObject({
  ...CheckBase,
  type: z.literal('http'),
  url: z.string().min(1).describe('Absolute URL, or a path relative to the environment url'),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).optional(),
  headers: Headers.optional(),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  expect: z
    .strictObject({
      status: StatusExpectation.optional().describe('Default: 2xx'),
      headers: z.record(z.string(), HeaderExpectation).optional().describe('Header name -> exact value or /regex/'),
      body: z.array(Condition).optional().describe('JSON conditions on the response body'),
      text: z
        .strictObject({ contains: z.string().optional(), matches: Pattern.optional() })
        .optional()
        .describe('Raw-text expectations for any body'),
      maxLatency: Duration.optional(),
    })
    .optional(),
});

export const McpTransport = z.enum(['auto', 'streamable-http', 'sse', 'stdio']);
export const McpCheck = z.strictObject({
  ...CheckBase,
  type: z.literal('mcp'),
  url: z.string().optional().describe('MCP endpoint (Streamable HTTP or legacy SSE); absolute or relative'),
  command: z.string().optional().describe('For stdio: the program to start'),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  transport: McpTransport.optional().describe('auto (default) tries Streamable HTTP, then legacy SSE'),
  headers: Headers.optional(),
  expect: z
    .strictObject({
      minProtocolVersion: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
      serverName: z.string().optional(),
      tools: z.array(z.string()).optional(),
      resources: z.array(z.string()).optional(),
      prompts: z.array(z.string()).optional(),
      toolSnapshot: z.string().optional().describe('Path of a recorded tools snapshot; names and input schemas must match'),
      maxLatency: Duration.optional(),
    })
    .optional(),
  call: z
    .strictObject({
      tool: z.string(),
      arguments: z.record(z.string(), z.unknown()).optional(),
      expect: z.array(Condition).optional().describe('Conditions on the tool result ($.content[0].text, $.structuredContent..., $.isError)'),
    })
    .optional(),
});

export const AuthCheck = z.strictObject({
  ...CheckBase,
  type: z.literal('auth'),
  url: z.string().min(1),
  method: z.enum(['GET', 'POST']).optional(),
  token: z.string().min(1).describe('The valid credential, normally ${secret:NAME}'),
  header: z.string().optional().describe('Default: Authorization'),
  scheme: z.string().optional().describe('Default: Bearer (empty string for none)'),
  rejectStatus: z.array(z.number().int()).optional().describe('Statuses that count as a refusal (default 401, 403)'),
  acceptStatus: StatusExpectation.optional().describe('Default: 2xx'),
  mcp: z.boolean().optional().describe('Also require WWW-Authenticate resource_metadata and the protected-resource metadata document'),
  body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
});

export const TlsCheck = z.strictObject({
  ...CheckBase,
  type: z.literal('tls'),
  url: z.string().min(1).describe('https URL or host:port'),
  minDaysToExpiry: z.number().int().min(0).optional().describe('Default: 14'),
  ca: z.string().optional().describe('Path of an extra CA bundle (PEM) to trust'),
  servername: z.string().optional(),
});

export const LoadCheck = z.strictObject({
  ...CheckBase,
  type: z.literal('load'),
  url: z.string().min(1),
  method: z.enum(['GET', 'POST', 'PUT']).optional(),
  headers: Headers.optional(),
  body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  // Maxima keep one check within what one runner process can drive (file descriptors, memory) and finish in the
  // time a gate can wait; the load generator enforces the same limits (packages/checks/kinds/load.ts).
  rate: z
    .number()
    .positive()
    .max(50_000)
    .optional()
    .describe('Fixed arrival rate in requests per second, at most 50000 (coordinated-omission corrected); concurrency, if set, caps the requests in flight'),
  concurrency: z
    .number()
    .int()
    .positive()
    .max(5000)
    .optional()
    .describe('Fixed number of requests in flight, at most 5000 (without rate; with rate it caps requests in flight). Default 10 when neither is set'),
  connections: z.number().int().positive().max(1000).optional().describe('Sockets to open, at most 1000 (default: the concurrency, or one per 10 req/s of rate between 8 and 256)'),
  duration: Duration.refine((ms) => ms <= 600_000, {
    error: (issue) => `load duration of ${+(Number(issue.input) / 60_000).toFixed(2)} min (${Number(issue.input)} ms) is too long (expected at most 10m)`,
  }).describe('How long to generate load, at most 10m'),
  expectStatus: StatusExpectation.optional(),
  thresholds: z
    .strictObject({
      p50: Duration.optional(),
      p95: Duration.optional(),
      p99: Duration.optional(),
      maxErrorRate: z.number().min(0).max(1).optional().describe('Fraction, e.g. 0.01'),
      minThroughput: z.number().min(0).optional().describe('Requests per second'),
    })
    .optional(),
});

const RequestSpec = z.strictObject({
  url: z.string().min(1),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).optional(),
  headers: Headers.optional(),
  body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
});

export const CircuitBreakerCheck = z.strictObject({
  ...CheckBase,
  type: z.literal('circuit-breaker'),
  url: z.string().min(1).describe('The call that goes through the breaker'),
  method: z.enum(['GET', 'POST']).optional(),
  headers: Headers.optional(),
  body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  faultOn: RequestSpec.describe('Request that switches the dependency fault on'),
  faultOff: RequestSpec.describe('Request that switches it off again'),
  openWithin: z.number().int().positive().optional().describe('Calls within which the breaker must open (default 10)'),
  openStatus: StatusExpectation.optional().describe('Status of a fast failure (default 503)'),
  fastFailLatency: Duration.optional().describe('A fast failure answers within this (default 100ms)'),
  resetWithin: Duration.optional().describe('After the fault is off, the call must succeed again within this (default 30s)'),
});

export const Check = z.discriminatedUnion('type', [HttpCheck, McpCheck, AuthCheck, TlsCheck, LoadCheck, CircuitBreakerCheck]);

export const RunSettings = z.strictObject({
  concurrency: z.number().int().min(1).max(1000).optional().describe('Checks in flight at once (default 16)'),
  deadline: Duration.optional().describe('Overall deadline for one validation run (default 5m)'),
  timeouts: Timeouts.optional(),
  retries: Retries.optional(),
  breaker: z
    .strictObject({
      failures: z.number().int().min(1).optional().describe('Consecutive failed attempts on one target that open its breaker (default 5)'),
      halfOpenAfter: Duration.optional().describe('Default 30s'),
    })
    .optional(),
  logLevel: z.enum(['debug', 'info', 'warning']).optional().describe('debug: every request and detail in the normal log (staging); info (default): every attempt; warning: only checks that end failed (retried attempts are hidden)'),
  ca: z.string().optional().describe('PEM file (relative to this config) of extra CA certificates that every check trusts besides the public roots'),
});

const DeployCommon = {
  readiness: z
    .strictObject({
      checks: z.array(z.string()).optional().describe("Names of this environment's checks that must pass (default: all required ones)"),
      timeout: Duration.optional().describe('How long the new version may take to become ready (default 5m)'),
      interval: Duration.optional().describe('Pause between readiness rounds (default 5s)'),
    })
    .optional(),
  requiredSecrets: z.array(z.string()).optional().describe('Secrets that must be present before deploying (names)'),
  production: z.boolean().optional().describe('GitHub production_environment (default: true when the environment is named production)'),
  transient: z.boolean().optional().describe('GitHub transient_environment, e.g. per-PR previews (default false)'),
  concurrency: z.enum(['refuse', 'queue']).optional().describe('When another deployment of this environment is in progress: refuse (default) or queue behind it'),
  queueTimeout: Duration.optional().describe('With concurrency: queue, how long to wait for the other deployment (default 15m)'),
  timeout: Duration.optional().describe('Time limit for the provider (default 30m)'),
  reachable: z
    .enum(['require', 'warn', 'skip'])
    .optional()
    .describe('Pre-deployment check that the environment url answers at all: require (refuse when not), warn (default) or skip'),
};

export const CommandDeploy = z.strictObject({
  ...DeployCommon,
  provider: z.literal('command'),
  command: z.string().min(1).describe('Run with bash; ROLLGATE_VERSION, ROLLGATE_ENVIRONMENT, ROLLGATE_URL, ROLLGATE_PHASE are in its environment'),
  env: z.record(z.string(), z.string()).optional().describe('Extra environment variables for the command'),
});

export const HttpDeploy = z.strictObject({
  ...DeployCommon,
  provider: z.literal('http'),
  url: z.string().min(1).describe('Deploy hook: receives a JSON POST {version, environment, ref, url, phase, runUrl}'),
  headers: Headers.optional(),
  secret: z.string().optional().describe('HMAC-SHA256 key; the signature goes in X-Rollgate-Signature-256: sha256=<hex>'),
  statusUrl: z.string().optional().describe('Polled until it answers {"status": "success"|"failure"|"in_progress"}; {id} is replaced by the hook response id'),
  pollInterval: Duration.optional().describe('Default 5s'),
});

export const NoneDeploy = z.strictObject({
  ...DeployCommon,
  provider: z.literal('none').describe('The deployment happens elsewhere: record and verify only'),
});

export const Deploy = z.discriminatedUnion('provider', [CommandDeploy, HttpDeploy, NoneDeploy]);

export const Environment = z.strictObject({
  url: z.string().optional().describe('Base URL; relative check URLs resolve against it'),
  settings: RunSettings.optional(),
  checks: z.array(Check).optional().describe('Checks for this environment only (added to the shared ones)'),
  skipChecks: z.array(z.string()).optional().describe('Names of shared checks not run here'),
  deploy: Deploy.optional().describe('How a version reaches this environment, and how readiness is judged'),
});

export const RollgateConfig = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1).describe('Configuration format version'),
    service: z.string().optional().describe('Name of the service'),
    settings: RunSettings.optional().describe('Defaults for every environment'),
    checks: z.array(Check).optional().describe('Checks shared by every environment'),
    environments: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lowercase letters, digits, - and _'), Environment)
      .describe('Per-environment sections, e.g. staging and production'),
  })
  .meta({ title: 'rollgate configuration', description: 'rollgate.yml: checks, environments and rollout settings' });

export type RollgateConfig = z.output<typeof RollgateConfig>;
export type EnvironmentConfig = z.output<typeof Environment>;
export type CheckSpec = z.output<typeof Check>;
export type HttpCheckSpec = z.output<typeof HttpCheck>;
export type McpCheckSpec = z.output<typeof McpCheck>;
export type AuthCheckSpec = z.output<typeof AuthCheck>;
export type TlsCheckSpec = z.output<typeof TlsCheck>;
export type LoadCheckSpec = z.output<typeof LoadCheck>;
export type CircuitBreakerCheckSpec = z.output<typeof CircuitBreakerCheck>;
export type TimeoutsSpec = z.output<typeof Timeouts>;
export type RetriesSpec = z.output<typeof Retries>;
export type RunSettingsSpec = z.output<typeof RunSettings>;
export type StatusExpectationSpec = z.output<typeof StatusExpectation>;
export type HeadersSpec = z.output<typeof Headers>;
export type DeploySpec = z.output<typeof Deploy>;
export type CommandDeploySpec = z.output<typeof CommandDeploy>;
export type HttpDeploySpec = z.output<typeof HttpDeploy>;
