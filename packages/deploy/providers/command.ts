/**
 * The `command` deploy provider: runs the team's own deploy command with bash (`bash -eo pipefail -c <command>`)
 * through @actions/exec. Version, environment, URL and phase reach the command only as environment variables
 * (ROLLGATE_VERSION, ROLLGATE_ENVIRONMENT, ROLLGATE_URL, ROLLGATE_PHASE), never spliced into the command text, so a
 * version such as `$(rm -rf ~)` is data, not code. The exit code decides.
 *
 * Output is streamed line by line to the log, each line redacted first; @actions/exec runs silent so it never echoes a
 * raw line itself. On timeout or abort the whole process group is stopped (TERM, then KILL after a grace period), so a
 * deploy script's children do not outlive it.
 */
import * as exec from '@actions/exec';
import { randomUUID } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { CommandDeploySpec } from '../../config/schema.js';
import { formatDuration } from '../../config/duration.js';
import type { DeployContext, DeployProvider, ProviderResult } from '../model.js';

const DEFAULT_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_KILL_GRACE_MS = 3_000;
/** Lines of output quoted in a failure message. */
const LAST_LINES = 5;
const MAX_QUOTED_LINE = 300;
/** A "line" longer than this (no newline in sight, e.g. a progress bar) is logged in pieces. */
const MAX_LINE_BYTES = 64 * 1024;

/**
 * A fixed launcher script (the user's command is its argument $2, never part of this text). It reports its own pid on
 * stderr under a one-time marker, moves into a new session with setsid when that exists (so the pid is also the
 * process group id and the whole tree can be stopped), then execs `bash -eo pipefail -c "$2"` in the same process.
 */
const LAUNCHER = [
  'if command -v setsid >/dev/null 2>&1; then',
  '  printf "%s %s group\\n" "$1" "$$" >&2',
  '  exec setsid bash -eo pipefail -c "$2"',
  'fi',
  'printf "%s %s process\\n" "$1" "$$" >&2',
  'exec bash -eo pipefail -c "$2"',
].join('\n');

export interface CommandProviderOptions {
  /** Time between TERM and KILL when the command is stopped (default 3 s). */
  killGraceMs?: number;
}

export function commandProvider(spec: CommandDeploySpec, options: CommandProviderOptions = {}): DeployProvider {
  return {
    kind: 'command',
    deploy: (ctx) => runDeployCommand(spec, ctx, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS),
  };
}

type StopReason = { kind: 'timeout' } | { kind: 'aborted'; why: string };

async function runDeployCommand(spec: CommandDeploySpec, ctx: DeployContext, killGraceMs: number): Promise<ProviderResult> {
  const redact = (text: string) => ctx.secrets.redact(text);
  const timeoutMs = spec.timeout ?? DEFAULT_TIMEOUT_MS;
  if (ctx.signal.aborted) {
    return { ok: false, message: `deploy command was not started because ${abortReason(ctx.signal)}` };
  }

  const lastLines: string[] = [];
  const onLine = (raw: string) => {
    const line = redact(raw);
    ctx.log.info(line);
    if (line.trim() === '') return;
    lastLines.push(line.length > MAX_QUOTED_LINE ? `${line.slice(0, MAX_QUOTED_LINE - 1)}…` : line);
    if (lastLines.length > LAST_LINES) lastLines.shift();
  };

  const marker = `rollgate-deploy-pid-${randomUUID()}`;
  let target: { pid: number; group: boolean } | undefined;
  const stdout = new LineSplitter(onLine);
  const stderr = new LineSplitter((line) => {
    if (!target && line.startsWith(`${marker} `)) {
      const [, pid, scope] = line.split(' ');
      target = { pid: Number(pid), group: scope === 'group' };
      if (stopReason) terminate();
      return;
    }
    onLine(line);
  });

  let stopReason: StopReason | undefined;
  let finished = false;
  let killTimer: NodeJS.Timeout | undefined;
  const send = (signal: NodeJS.Signals) => {
    if (!target) return;
    try {
      process.kill(target.group ? -target.pid : target.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const terminate = () => {
    send('SIGTERM');
    killTimer ??= setTimeout(() => send('SIGKILL'), killGraceMs);
  };
  const stop = (reason: StopReason) => {
    if (stopReason || finished) return;
    stopReason = reason;
    ctx.log.warning(reason.kind === 'timeout'
      ? `deploy command is still running after ${formatDuration(timeoutMs)} (deploy.timeout); stopping it`
      : `deploy command is being stopped because ${reason.why}`);
    terminate();
  };
  const timeoutTimer = setTimeout(() => stop({ kind: 'timeout' }), timeoutMs);
  const onAbort = () => stop({ kind: 'aborted', why: abortReason(ctx.signal) });
  ctx.signal.addEventListener('abort', onAbort, { once: true });

  const firstLine = spec.command.split('\n').find((line) => line.trim() !== '') ?? spec.command;
  ctx.log.info(`running deploy command with bash in ${ctx.baseDir}: ${redact(clipLine(firstLine.trim()))}${spec.command.trim().includes('\n') ? ' …' : ''}`);

  let exitCode: number | null;
  try {
    exitCode = await exec.exec('bash', ['-c', LAUNCHER, 'rollgate-deploy', marker, spec.command], {
      cwd: ctx.baseDir,
      env: commandEnvironment(spec, ctx),
      silent: true,
      ignoreReturnCode: true,
      // How long to wait for output pipes after the process exits (a background child may still hold them).
      delay: 2_000,
      listeners: {
        stdout: (data) => stdout.push(data),
        stderr: (data) => stderr.push(data),
      },
    });
  } catch (error) {
    return { ok: false, message: startFailure(error, ctx.baseDir, redact) };
  } finally {
    finished = true;
    stdout.flush();
    stderr.flush();
    clearTimeout(timeoutTimer);
    ctx.signal.removeEventListener('abort', onAbort);
    if (killTimer) {
      clearTimeout(killTimer);
      // The leader is gone; anything left in its group (a child that ignored TERM) goes now.
      if (target?.group) send('SIGKILL');
    }
  }

  const output = lastLines.length > 0 ? lastLines.join(' | ') : '(no output)';
  const reason = stopReason as StopReason | undefined;
  if (reason?.kind === 'timeout') {
    return {
      ok: false,
      message: `deploy command did not finish within ${formatDuration(timeoutMs)} (deploy.timeout) and was stopped; last output: ${output}. ` +
        'If the deployment needs longer, raise deploy.timeout in rollgate.yml',
    };
  }
  if (reason?.kind === 'aborted') {
    return { ok: false, message: `deploy command was stopped because ${reason.why}; last output: ${output}` };
  }
  if (exitCode === 0) return { ok: true, message: 'deploy command succeeded (exit code 0)' };
  if (exitCode === null) {
    return { ok: false, message: `deploy command was killed by a signal before it exited; last output: ${output}` };
  }
  return { ok: false, message: `deploy command exited with ${exitCode}${exitHint(exitCode)}; last output: ${output}` };
}

function commandEnvironment(spec: CommandDeploySpec, ctx: DeployContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value;
  return {
    ...env,
    ...spec.env,
    ROLLGATE_VERSION: ctx.version,
    ROLLGATE_ENVIRONMENT: ctx.environment,
    // Empty rather than absent, so a value inherited from the caller's environment never stands in for the real one.
    ROLLGATE_URL: ctx.url ?? '',
    ROLLGATE_PHASE: ctx.phase ?? '',
  };
}

function exitHint(code: number): string {
  if (code === 127) return ' (127: a command was not found; check the command and the PATH it runs with)';
  if (code === 126) return ' (126: a file was found but could not be executed; check its permissions)';
  return '';
}

function startFailure(error: unknown, baseDir: string, redact: (text: string) => string): string {
  const text = error instanceof Error ? error.message : String(error);
  if (/Unable to locate executable file: bash/i.test(text)) {
    return 'deploy command could not start: bash was not found on PATH (the command provider runs deploy.command with ' +
      '`bash -eo pipefail -c`); install bash or make it reachable on PATH';
  }
  if (/The cwd: .* does not exist/i.test(text)) {
    return `deploy command could not start: its working directory ${baseDir} does not exist (the command runs in the folder of rollgate.yml)`;
  }
  return `deploy command could not start: ${redact(text)}`;
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.message && reason.name !== 'AbortError') return reason.message;
  if (typeof reason === 'string' && reason) return reason;
  return 'the run was cancelled';
}

function clipLine(text: string): string {
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** Turns chunks of bytes into whole lines (UTF-8 safe across chunk boundaries); the rest is flushed at the end. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(data: Buffer): void {
    this.pending += this.decoder.write(data);
    let newline = this.pending.indexOf('\n');
    while (newline !== -1) {
      this.emit(this.pending.slice(0, newline));
      this.pending = this.pending.slice(newline + 1);
      newline = this.pending.indexOf('\n');
    }
    if (this.pending.length > MAX_LINE_BYTES) {
      this.emit(this.pending);
      this.pending = '';
    }
  }

  flush(): void {
    this.pending += this.decoder.end();
    if (this.pending !== '') this.emit(this.pending);
    this.pending = '';
  }

  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
