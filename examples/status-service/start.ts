/**
 * Starts the example status service from the command line:
 *
 *   npx tsx examples/status-service/start.ts [--port 8080] [--version 1.0.0] [--token T] [...]
 *
 * `--help` lists every flag. Runs until SIGINT/SIGTERM, then closes gracefully.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../packages/config/duration.js';
import { startStatusService, type StatusServiceOptions } from './server.js';

const USAGE = `Usage: npx tsx examples/status-service/start.ts [options]

  --port N                 port to listen on (default 8080; 0 picks a free one)
  --host ADDR              address to listen on (default 127.0.0.1)
  --version V              version reported everywhere and used as the metrics label (default 1.0.0)
  --token T                require "Authorization: Bearer T" on /api/v1/status and /mcp
                           (default: the STATUS_TOKEN environment variable, if set; prefer it: flags show in ps)
  --admin-token T          require "Authorization: Bearer T" on /admin/faults (default: open, loopback only)
  --tls-cert FILE          serve HTTPS with this certificate (PEM) ...
  --tls-key FILE           ... and this key (PEM)
  --tls-self-signed [DIR]  serve HTTPS with a self-signed certificate for 127.0.0.1/localhost kept in DIR
                           (default examples/status-service/.tls: cert.pem, key.pem, made on first use;
                           trust DIR/cert.pem as the CA)
  --tls-port N             with a TLS flag: HTTPS on N in addition to HTTP on --port
                           (without it, --port itself speaks HTTPS)
  --breaker-failures N     consecutive dependency failures that open the breaker (default 3)
  --breaker-half-open D    how long the breaker stays open before a trial call (default 5s)
  --no-breaker             call the dependency without a circuit breaker
  --dependency-timeout D   how long a dependency call waits (default 2s)
  --startup-delay D        /ready answers 503 for this long after start (default 0)
  --latency D              switch: added latency on every service route
  --error-rate F           switch: fraction of requests answered 500 (0..1)
  --dependency-down        switch: the dependency does not answer
  --mcp-broken [MODE]      switch: /mcp answers 500 (MODE status, the default) or garbage (MODE garbage)
  --seed N                 seed for the error-rate draws (reproducible failures)
  --quiet                  print only the listening line
  --help                   this text

Durations: 500ms, 2s, 1m or a number of milliseconds. Switches change at run time through POST /admin/faults.`;

function fail(message: string): never {
  process.stderr.write(`start: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function duration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) fail(`--${flag} "${value}" is not a duration (expected e.g. 500ms, 2s, 1m)`);
  return ms;
}

function integer(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${flag} "${value}" is not a whole number >= ${min}`);
  return n;
}

/** A kept certificate close to expiry is replaced, so the example's tls check (min 14 days) keeps passing. */
function expiresWithinDays(pem: string, days: number): boolean {
  try {
    return new X509Certificate(pem).validToDate.getTime() - Date.now() < days * 24 * 3600 * 1000;
  } catch {
    return true;
  }
}

async function selfSignedPair(dir: string): Promise<{ cert: string; key: string }> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (!existsSync(certFile) || !existsSync(keyFile) || expiresWithinDays(readFileSync(certFile, 'utf8'), 30)) {
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 90 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
      ],
    });
    mkdirSync(dir, { recursive: true });
    writeFileSync(certFile, pems.cert);
    writeFileSync(keyFile, pems.private, { mode: 0o600 });
  }
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        version: { type: 'string' },
        token: { type: 'string' },
        'admin-token': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-self-signed': { type: 'string' },
        'tls-port': { type: 'string' },
        'breaker-failures': { type: 'string' },
        'breaker-half-open': { type: 'string' },
        'no-breaker': { type: 'boolean' },
        'dependency-timeout': { type: 'string' },
        'startup-delay': { type: 'string' },
        latency: { type: 'string' },
        'error-rate': { type: 'string' },
        'dependency-down': { type: 'boolean' },
        'mcp-broken': { type: 'string' },
        seed: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      args: normaliseOptionalValue(
        normaliseOptionalValue(process.argv.slice(2), '--mcp-broken', 'status'),
        '--tls-self-signed',
        join(import.meta.dirname, '.tls'),
      ),
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const flags = parsed.values;
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  const errorRate = flags['error-rate'] === undefined ? undefined : Number(flags['error-rate']);
  if (errorRate !== undefined && !(errorRate >= 0 && errorRate <= 1)) fail(`--error-rate "${flags['error-rate']}" must be between 0 and 1`);
  const mcpBroken = flags['mcp-broken'];
  if (mcpBroken !== undefined && mcpBroken !== 'status' && mcpBroken !== 'garbage') fail(`--mcp-broken "${mcpBroken}" must be status or garbage`);
  if (Boolean(flags['tls-cert']) !== Boolean(flags['tls-key'])) fail('--tls-cert and --tls-key go together');
  const tlsPort = integer('tls-port', flags['tls-port'], 0);

  let tls: StatusServiceOptions['tls'];
  if (flags['tls-cert'] && flags['tls-key']) {
    tls = { cert: readFileSync(flags['tls-cert'], 'utf8'), key: readFileSync(flags['tls-key'], 'utf8') };
  } else if (flags['tls-self-signed']) {
    tls = await selfSignedPair(flags['tls-self-signed']);
  }
  if (tlsPort !== undefined) {
    if (!tls) fail('--tls-port needs --tls-cert/--tls-key or --tls-self-signed');
    tls.port = tlsPort;
  }

  const token = flags.token ?? (process.env.STATUS_TOKEN || undefined);
  const latencyMs = duration('latency', flags.latency);
  const switches: StatusServiceOptions['switches'] = {
    ...(latencyMs !== undefined ? { latencyMs: Math.round(latencyMs) } : {}),
    ...(errorRate !== undefined ? { errorRate } : {}),
    ...(flags['dependency-down'] ? { dependencyDown: true } : {}),
    ...(mcpBroken ? { mcpBroken: mcpBroken as 'status' | 'garbage' } : {}),
  };
  const quiet = flags.quiet ?? false;
  const service = await startStatusService({
    port: integer('port', flags.port, 0) ?? 8080,
    ...(flags.host ? { host: flags.host } : {}),
    ...(flags.version ? { version: flags.version } : {}),
    ...(token ? { token } : {}),
    ...(flags['admin-token'] ? { adminToken: flags['admin-token'] } : {}),
    ...(tls ? { tls } : {}),
    breaker: flags['no-breaker']
      ? false
      : {
          ...(flags['breaker-failures'] ? { failures: integer('breaker-failures', flags['breaker-failures'], 1)! } : {}),
          ...(flags['breaker-half-open'] ? { halfOpenAfterMs: duration('breaker-half-open', flags['breaker-half-open'])! } : {}),
        },
    ...(flags['dependency-timeout'] ? { dependencyTimeoutMs: duration('dependency-timeout', flags['dependency-timeout'])! } : {}),
    ...(flags['startup-delay'] ? { startupDelayMs: duration('startup-delay', flags['startup-delay'])! } : {}),
    ...(flags.seed ? { seed: integer('seed', flags.seed, 0)! } : {}),
    switches,
    log: (line) => {
      if (!quiet || line.includes('listening on')) process.stdout.write(`${new Date().toISOString()} ${line}\n`);
    },
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!quiet) process.stdout.write(`${new Date().toISOString()} ${signal}: closing\n`);
    service.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Lets a string flag stand alone (`--mcp-broken` means `--mcp-broken status`). */
function normaliseOptionalValue(args: string[], flag: string, fallback: string): string[] {
  const out: string[] = [];
  args.forEach((arg, index) => {
    out.push(arg);
    const next = args[index + 1];
    if (arg === flag && (next === undefined || next.startsWith('--'))) out.push(fallback);
  });
  return out;
}

main().catch((error: unknown) => {
  process.stderr.write(`start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
