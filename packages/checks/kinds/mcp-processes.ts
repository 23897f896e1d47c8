/**
 * Finding and stopping every process a stdio MCP check started, including grandchildren that outlive their parent.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';

/** The environment variable that marks the processes of one stdio attempt. */
export const MARKER_VARIABLE = 'ROLLGATE_MCP_SERVER';

interface ProcessEntry {
  pid: number;
  ppid: number;
  /** Start time since boot (Linux): a pid seen again with another start time is another process. */
  start?: string;
}

/**
 * The processes a stdio check started: the server, the client library's probe sibling (started from the same
 * parameters, so with the same marker), and whatever they start in turn, such as `sh -c` children or the real
 * server behind `npx`. A killed parent leaves its children running, re-parented to init, out of reach of a
 * process-tree walk; the marker in their environment still finds them on Linux (/proc). Other POSIX systems walk
 * the `ps` tree while the parents still run; on Windows only the direct children are known.
 */
export class ServerProcesses {
  private readonly id = randomUUID();
  /** pid -> start time, when known. */
  private readonly known = new Map<number, string | undefined>();

  /** The variable to add to the server's environment. */
  get marker(): Record<string, string> {
    return { [MARKER_VARIABLE]: this.id };
  }

  add(pid: number): void {
    if (!this.known.has(pid)) this.known.set(pid, linuxStat(pid)?.start);
  }

  /** Remembers every process now started by the known ones (their tree, and the marked ones). */
  async collect(): Promise<void> {
    const table = await processTable();
    if (!table) return;
    const children = new Map<number, ProcessEntry[]>();
    for (const entry of table) children.set(entry.ppid, [...(children.get(entry.ppid) ?? []), entry]);
    const queue = table.filter((entry) => this.isKnown(entry));
    queue.push(...(await this.marked(table)));
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      if (entry.pid === process.pid) continue;
      if (!this.isKnown(entry)) this.known.set(entry.pid, entry.start);
      for (const child of children.get(entry.pid) ?? []) if (!this.isKnown(child)) queue.push(child);
    }
  }

  /** SIGTERM, then SIGKILL, every process found; waits until each is gone. Twice, for children started meanwhile. */
  async reap(): Promise<void> {
    for (let round = 0; round < 2; round++) {
      await this.collect();
      const running = [...this.known].filter(([pid, start]) => isRunning(pid, start)).map(([pid]) => pid);
      if (!running.length) return;
      signalAll(running, 'SIGTERM');
      if (await waitForExit(running, 1_000)) continue;
      signalAll(running, 'SIGKILL');
      await waitForExit(running, 1_000);
    }
  }

  private isKnown(entry: ProcessEntry): boolean {
    if (!this.known.has(entry.pid)) return false;
    const start = this.known.get(entry.pid);
    return start === undefined || entry.start === undefined || start === entry.start;
  }

  /** Processes whose environment carries this attempt's marker (Linux; only our own processes are readable). */
  private async marked(table: readonly ProcessEntry[]): Promise<ProcessEntry[]> {
    if (process.platform !== 'linux') return [];
    const wanted = `${MARKER_VARIABLE}=${this.id}`;
    const found = await Promise.all(
      table.map(async (entry) => {
        const environ = await readFile(`/proc/${entry.pid}/environ`, 'latin1').catch(() => '');
        return environ.split('\0').includes(wanted) ? entry : undefined;
      }),
    );
    return found.filter((entry): entry is ProcessEntry => entry !== undefined);
  }
}

/** pid and parent of every process: /proc on Linux, `ps` on other POSIX systems, undefined where neither works. */
async function processTable(): Promise<ProcessEntry[] | undefined> {
  if (process.platform === 'linux') {
    const names = await readdir('/proc').catch(() => [] as string[]);
    const entries = await Promise.all(
      names.filter((name) => /^\d+$/.test(name)).map(async (name) => parseStat(Number(name), await readFile(`/proc/${name}/stat`, 'utf8').catch(() => ''))),
    );
    return entries.filter((entry): entry is ProcessEntry & { zombie: boolean } => entry !== undefined && !entry.zombie);
  }
  if (process.platform === 'win32') return undefined;
  const output = await new Promise<string>((resolve) => {
    execFile('ps', ['-A', '-o', 'pid=,ppid='], { timeout: 2_000 }, (error, stdout) => resolve(error ? '' : stdout));
  });
  const entries = output
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((fields) => fields.length === 2 && fields.every(Number.isInteger))
    .map(([pid, ppid]) => ({ pid: pid!, ppid: ppid! }));
  return entries.length ? entries : undefined;
}

/** Fields of /proc/<pid>/stat; the command name in parentheses may itself hold spaces and parentheses. */
function parseStat(pid: number, text: string): (ProcessEntry & { zombie: boolean }) | undefined {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (!text || fields.length < 20) return undefined;
  return { pid, ppid: Number(fields[1]), start: fields[19], zombie: fields[0] === 'Z' || fields[0] === 'X' };
}

function linuxStat(pid: number): (ProcessEntry & { zombie: boolean }) | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Running, not a zombie waiting for its parent, and (when known) still the process that had this start time. */
function isRunning(pid: number, start?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  const stat = linuxStat(pid);
  return stat !== undefined && !stat.zombie && (start === undefined || stat.start === start);
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

async function waitForExit(pids: readonly number[], ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (pids.some((pid) => isRunning(pid))) {
    if (performance.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
