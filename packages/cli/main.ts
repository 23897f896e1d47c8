/**
 * The rollgate CLI: the same engines as the actions, through the terminal host.
 * Exit codes for every command: 0 everything required passed, 1 a check or gate failed, 2 usage or configuration error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { secrets } from '../config/secrets.js';
import { buildJsonSchema } from '../config/json-schema.js';
import { formatProblem, type ConfigProblem } from '../config/errors.js';
import { cliHost } from '../host/cli-host.js';
import { executeValidation, prepareValidation, writeJsonReport } from '../validate/validate.js';
import { recordSnapshotForCheck } from '../validate/mcp-snapshot.js';
import { resolve as resolvePath } from 'node:path';
import { runDeploy } from '../deploy/deploy.js';
import { providerFor } from '../deploy/providers/index.js';
import { LocalDeploymentStore } from '../deploy/local-store.js';
import { versionProblem } from '../deploy/ref.js';
import { renderMarkdown, renderText } from '../report/render.js';
import { ROLLGATE_VERSION } from '../version.js';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  signal?: AbortSignal;
}

const HELP = `rollgate ${ROLLGATE_VERSION}: deploy, validate, roll out and monitor a service

Usage:
  rollgate validate [--config FILE] [--environment NAME] [--report-dir DIR] [--format text|json|markdown]
  rollgate validate --url URL [--url URL ...] [--mcp-url URL] [--expected-status 2xx] [--max-latency-ms N] [--attempts N] [--retry-delay 1s]
  rollgate mcp-snapshot --config FILE [--environment NAME] --check NAME [--out FILE]
                             record the tools (names and input schemas) of a known-good MCP server for drift checks
  rollgate deploy --config FILE --environment NAME --version V [--ref SHA] [--dry-run] [--state-dir DIR] [--overrides YAML]
                             ship V with the environment's deploy provider, record it, wait until ready
  rollgate schema            print the JSON Schema of rollgate.yml
  rollgate version | help

Exit codes: 0 everything required passed, 1 a check or gate failed, 2 usage or configuration error.
Secrets referenced as \${secret:NAME} in the config are read from the environment variable NAME.`;

const VALIDATE_OPTIONS = {
  config: { type: 'string', short: 'c' },
  environment: { type: 'string', short: 'e' },
  'report-dir': { type: 'string' },
  format: { type: 'string', short: 'f' },
  url: { type: 'string', multiple: true },
  'mcp-url': { type: 'string', multiple: true },
  'expected-status': { type: 'string' },
  'max-latency-ms': { type: 'string' },
  attempts: { type: 'string' },
  'retry-delay': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

/** Parses a command's flags; a usage error is reported and turned into exit code 2. */
function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, io: CliIo) {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values;
  } catch (error) {
    usageError(io, (error as Error).message);
    return undefined;
  }
}

function reportProblems(io: CliIo, problems: ConfigProblem[]): number {
  for (const problem of problems) io.stderr.write(`${secrets.redact(formatProblem(problem))}\n`);
  io.stderr.write(`rollgate: ${problems.length} problem(s); nothing was checked.\n`);
  return EXIT.usage;
}

function usageError(io: CliIo, message: string): number {
  io.stderr.write(`rollgate: ${message}\nRun "rollgate help" for usage.\n`);
  return EXIT.usage;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(`${HELP}\n`);
      return command === undefined ? EXIT.usage : EXIT.ok;
    case 'version':
    case '--version':
      io.stdout.write(`${ROLLGATE_VERSION}\n`);
      return EXIT.ok;
    case 'schema':
      io.stdout.write(`${JSON.stringify(buildJsonSchema(), null, 2)}\n`);
      return EXIT.ok;
    case 'validate':
      return validateCommand(rest, io);
    case 'mcp-snapshot':
      return mcpSnapshotCommand(rest, io);
    case 'deploy':
      return deployCommand(rest, io);
    default:
      return usageError(io, `unknown command "${command}" (expected validate, deploy, mcp-snapshot, schema, version or help)`);
  }
}

async function validateCommand(args: string[], io: CliIo): Promise<number> {
  const v = parseFlags(args, VALIDATE_OPTIONS, io);
  if (!v) return EXIT.usage;
  if (v.help) {
    io.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  const format = v.format ?? 'text';
  if (!['text', 'json', 'markdown'].includes(format)) return usageError(io, `--format "${format}" is not one of text, json, markdown`);
  const host = cliHost(secrets, { verbose: v.verbose ?? false, quiet: (v.quiet ?? false) || format !== 'text', stderr: io.stderr });
  const prepared = prepareValidation({
    ...(v.config ? { configPath: v.config } : {}),
    ...(v.environment ? { environment: v.environment } : {}),
    zeroConfig: {
      style: 'cli',
      urls: v.url ?? [],
      mcpUrls: v['mcp-url'] ?? [],
      ...(v['expected-status'] ? { expectedStatus: v['expected-status'] } : {}),
      ...(v['max-latency-ms'] ? { maxLatencyMs: v['max-latency-ms'] } : {}),
      ...(v.attempts ? { attempts: v.attempts } : {}),
      ...(v['retry-delay'] ? { retryDelay: v['retry-delay'] } : {}),
    },
    cwd: io.cwd,
    env: io.env,
    secretValues: {},
    secrets,
  });
  if (!prepared.ok) return reportProblems(io, prepared.problems);
  const report = await executeValidation(prepared.prepared, { log: host, secrets, ...(io.signal ? { signal: io.signal } : {}) });
  let reportPath = '';
  if (v['report-dir']) {
    const written = await writeJsonReport(report, v['report-dir'], secrets);
    if (written.ok) reportPath = written.path;
    else host.warning(written.message);
  }
  const out =
    format === 'json'
      ? JSON.stringify(report, null, 2)
      : format === 'markdown'
        ? renderMarkdown(report)
        : renderText(report, { color: Boolean(io.stdout.isTTY) && !io.env.NO_COLOR });
  io.stdout.write(`${secrets.redact(out)}\n`);
  if (reportPath && format === 'text') io.stderr.write(`report: ${reportPath}\n`);
  return report.verdict === 'passed' ? EXIT.ok : EXIT.failed;
}

const SNAPSHOT_OPTIONS = {
  config: { type: 'string', short: 'c' },
  environment: { type: 'string', short: 'e' },
  check: { type: 'string' },
  out: { type: 'string', short: 'o' },
  verbose: { type: 'boolean', short: 'v' },
} satisfies ParseArgsConfig['options'];

async function mcpSnapshotCommand(args: string[], io: CliIo): Promise<number> {
  const v = parseFlags(args, SNAPSHOT_OPTIONS, io);
  if (!v) return EXIT.usage;
  if (!v.check) return usageError(io, 'mcp-snapshot needs --check NAME (the name of an mcp check in the config)');
  const host = cliHost(secrets, { verbose: v.verbose ?? false, stderr: io.stderr });
  const prepared = prepareValidation({
    ...(v.config ? { configPath: v.config } : {}),
    ...(v.environment ? { environment: v.environment } : {}),
    zeroConfig: { urls: [], mcpUrls: [] },
    cwd: io.cwd,
    env: io.env,
    secretValues: {},
    secrets,
  });
  if (!prepared.ok) return reportProblems(io, prepared.problems);
  const result = await recordSnapshotForCheck(prepared.prepared, v.check, {
    log: host,
    ...(v.out ? { out: v.out } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
  });
  if (!result.ok) {
    io.stderr.write(`rollgate: ${secrets.redact(result.message)}\n`);
    return result.usage ? EXIT.usage : EXIT.failed;
  }
  const next = v.out
    ? 'Review it; point the check\'s expect.toolSnapshot at it to fail the check when a tool is added, removed or changes its input schema.'
    : 'Review it and commit it; the check now fails when a tool is added, removed or changes its input schema.';
  io.stdout.write(`wrote ${result.path}: ${result.tools.length} tool(s): ${result.tools.join(', ')}\n${next}\n`);
  return EXIT.ok;
}

const DEPLOY_OPTIONS = {
  config: { type: 'string', short: 'c' },
  environment: { type: 'string', short: 'e' },
  version: { type: 'string' },
  ref: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'state-dir': { type: 'string' },
  overrides: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} satisfies ParseArgsConfig['options'];

async function deployCommand(args: string[], io: CliIo): Promise<number> {
  const v = parseFlags(args, DEPLOY_OPTIONS, io);
  if (!v) return EXIT.usage;
  if (!v.environment) return usageError(io, 'deploy needs --environment NAME');
  if (!v.version) return usageError(io, 'deploy needs --version V (a commit SHA or an image tag)');
  const bad = versionProblem('--version', v.version) ?? (v.ref ? versionProblem('--ref', v.ref) : undefined);
  if (bad) return usageError(io, bad);
  const host = cliHost(secrets, { verbose: v.verbose ?? false, stderr: io.stderr });
  const prepared = prepareValidation({
    ...(v.config ? { configPath: v.config } : {}),
    environment: v.environment,
    zeroConfig: { urls: [], mcpUrls: [] },
    cwd: io.cwd,
    env: io.env,
    secretValues: {},
    secrets,
    ...(v.overrides ? { overrides: v.overrides } : {}),
  });
  if (!prepared.ok) return reportProblems(io, prepared.problems);
  const { plan, deploy, baseDir, ca } = prepared.prepared;
  const store = new LocalDeploymentStore(resolvePath(io.cwd, v['state-dir'] ?? '.rollgate'));
  const outcome = await runDeploy(
    {
      plan,
      deploy,
      version: v.version,
      ref: v.ref ?? v.version,
      dryRun: v['dry-run'] ?? false,
      baseDir,
      hasSecret: (name) => Boolean(io.env[name]),
    },
    { store, provider: providerFor(deploy), log: host, secrets, ...(io.signal ? { signal: io.signal } : {}), ...(ca ? { ca } : {}) },
  );
  for (const p of outcome.preflight) io.stderr.write(`${!p.passed ? 'FAIL' : p.warning ? 'WARN' : 'ok  '} ${p.name}: ${secrets.redact(p.message)}\n`);
  io.stdout.write(`${secrets.redact(`${outcome.status.toUpperCase()}: ${outcome.message}`)}\n`);
  if (outcome.deploymentId) io.stdout.write(`deployment ${outcome.deploymentId} in ${store.description}\n`);
  if (outcome.previousVersion) io.stdout.write(`previous version: ${outcome.previousVersion}\n`);
  return outcome.status === 'success' || outcome.status === 'dry-run' ? EXIT.ok : EXIT.failed;
}
