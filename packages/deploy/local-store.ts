/**
 * Deployment records outside GitHub (CLI, demo, tests): one JSON file, by default `.rollgate/deployments.json`, with
 * the same semantics as GitHub Deployments — newest first, statuses over time, and a `success` that marks earlier
 * successful deployments of the environment inactive unless told not to.
 *
 * Writes go to a temporary file that is renamed over the old one, so a reader never sees half a file. Writers take a
 * lock file (created exclusively) so two rollgate processes do not lose each other's records; a lock left by a
 * process that died, or older than `staleLockMs`, is broken.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { CreateDeployment, DeploymentState, DeploymentStatus, DeploymentStore, DeploymentSummary } from './model.js';

interface StoredStatus extends DeploymentStatus {
  createdAt: string;
}

interface StoredDeployment extends DeploymentSummary {
  description: string;
  payload?: Record<string, unknown>;
  /** Oldest first. */
  statuses: StoredStatus[];
}

interface StoreFile {
  version: 1;
  nextId: number;
  /** Oldest first. */
  deployments: StoredDeployment[];
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

export interface LocalDeploymentStoreOptions {
  /** File name inside the state folder. Default `deployments.json`. */
  fileName?: string;
  /** How long to wait for another process's lock. Default 10 s. */
  lockTimeoutMs?: number;
  /** A lock older than this is considered abandoned. Default 30 s (a write takes milliseconds). */
  staleLockMs?: number;
  now?: () => Date;
}

const EMPTY: StoreFile = { version: 1, nextId: 1, deployments: [] };

/** Writers of this process, per file, take turns here first: the file lock is for other processes. */
const turns = new Map<string, Promise<unknown>>();

async function inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = turns.get(key) ?? Promise.resolve();
  const mine = previous.then(work, work);
  const settled = mine.catch(() => undefined);
  turns.set(key, settled);
  try {
    return await mine;
  } finally {
    if (turns.get(key) === settled) turns.delete(key);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LocalDeploymentStore implements DeploymentStore {
  readonly description: string;
  /** The JSON file the records live in. */
  readonly file: string;
  private readonly lockFile: string;
  private readonly lockTimeoutMs: number;
  private readonly staleLockMs: number;
  private readonly now: () => Date;

  /** `stateDir` is the folder records live in, typically `<project>/.rollgate`. */
  constructor(
    private readonly stateDir: string,
    options: LocalDeploymentStoreOptions = {},
  ) {
    this.file = join(stateDir, options.fileName ?? 'deployments.json');
    this.lockFile = `${this.file}.lock`;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
    this.now = options.now ?? (() => new Date());
    const shown = isAbsolute(this.file) ? relative(process.cwd(), this.file) : this.file;
    this.description = shown && !shown.startsWith('..') && !isAbsolute(shown) ? shown : this.file;
  }

  async list(environment: string, limit: number): Promise<DeploymentSummary[]> {
    const data = await this.read();
    return data.deployments
      .filter((deployment) => deployment.environment === environment)
      .reverse()
      .slice(0, Math.max(0, limit))
      .map(summaryOf);
  }

  async status(id: string): Promise<DeploymentStatus> {
    const deployment = this.find(await this.read(), id);
    const latest = deployment.statuses.at(-1);
    return latest ? { ...latest } : { state: 'pending' };
  }

  async create(input: CreateDeployment): Promise<DeploymentSummary> {
    return this.update((data) => {
      const deployment: StoredDeployment = {
        id: `local-${data.nextId++}`,
        environment: input.environment,
        version: input.version,
        ref: input.ref,
        createdAt: this.now().toISOString(),
        ...(input.runId ? { runId: input.runId } : {}),
        ...(input.runUrl ? { runUrl: input.runUrl } : {}),
        production: input.production,
        transient: input.transient,
        description: input.description,
        ...(input.payload ? { payload: input.payload } : {}),
        statuses: [],
      };
      data.deployments.push(deployment);
      return summaryOf(deployment);
    });
  }

  async setStatus(id: string, status: DeploymentStatus & { autoInactive?: boolean }): Promise<void> {
    await this.update((data) => {
      const deployment = this.find(data, id);
      const createdAt = this.now().toISOString();
      const { autoInactive, ...rest } = status;
      deployment.statuses.push({ ...rest, createdAt });
      if (status.state !== 'success' || autoInactive === false) return;
      // GitHub's documented rule: prior non-transient, non-production deployments of the environment that had
      // succeeded become inactive.
      const index = data.deployments.indexOf(deployment);
      for (const prior of data.deployments.slice(0, index)) {
        if (prior.environment !== deployment.environment || prior.transient || prior.production) continue;
        if (prior.statuses.at(-1)?.state !== 'success') continue;
        prior.statuses.push({ state: 'inactive' satisfies DeploymentState, createdAt });
      }
    });
  }

  private find(data: StoreFile, id: string): StoredDeployment {
    const deployment = data.deployments.find((candidate) => candidate.id === id);
    if (!deployment) throw new Error(`no deployment "${id}" in ${this.description} (ids there look like local-1, local-2...)`);
    return deployment;
  }

  private async read(): Promise<StoreFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(EMPTY);
      throw error;
    }
    try {
      const data = JSON.parse(text) as StoreFile;
      if (data.version !== 1 || !Array.isArray(data.deployments) || typeof data.nextId !== 'number') throw new Error('unexpected layout');
      return data;
    } catch (error) {
      // Never start over silently: the history is what rollbacks use.
      throw new Error(`${this.description} is not a rollgate deployment record (${(error as Error).message}); fix it or move it away to start a new history`);
    }
  }

  /** Read, change and write the file under the lock. */
  private async update<T>(change: (data: StoreFile) => T): Promise<T> {
    return inTurn(resolve(this.file), async () => {
      await mkdir(this.stateDir, { recursive: true });
      const release = await this.lock();
      try {
        const data = await this.read();
        const result = change(data);
        await this.write(data);
        return result;
      } finally {
        await release();
      }
    });
  }

  private async write(data: StoreFile): Promise<void> {
    const temporary = `${this.file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(data, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temporary, this.file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  private async lock(): Promise<() => Promise<void>> {
    const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomUUID(), since: this.now().toISOString() };
    const deadline = Date.now() + this.lockTimeoutMs;
    let pause = 5;
    for (;;) {
      try {
        const handle = await open(this.lockFile, 'wx');
        try {
          await handle.writeFile(JSON.stringify(owner));
        } finally {
          await handle.close();
        }
        return async () => {
          // Only remove our own lock: if it was broken as stale meanwhile, the file belongs to someone else now.
          const current = await this.readLock();
          if (current?.token === owner.token) await unlink(this.lockFile).catch(() => undefined);
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await this.readLock();
      if (await this.isStale(holder)) {
        await this.breakLock(holder);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = holder ? `process ${holder.pid} on ${holder.host} since ${holder.since}` : 'another process';
        throw new Error(
          `could not lock ${this.description}: ${who} holds ${this.lockFile} (waited ${Math.round(this.lockTimeoutMs / 1000)}s). ` +
            'If no rollgate is running, delete that file.',
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 50);
    }
  }

  private async readLock(): Promise<LockOwner | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.lockFile, 'utf8')) as Partial<LockOwner>;
      return typeof parsed.pid === 'number' && typeof parsed.token === 'string' ? (parsed as LockOwner) : undefined;
    } catch {
      return undefined;
    }
  }

  private async isStale(holder: LockOwner | undefined): Promise<boolean> {
    let age: number;
    try {
      age = Date.now() - (await stat(this.lockFile)).mtimeMs;
    } catch {
      // Gone already: not stale, just retry.
      return false;
    }
    if (age > this.staleLockMs) return true;
    // A lock being written has no content yet; give it the benefit of the doubt until it is old.
    if (!holder) return false;
    return holder.host === hostname() && !processAlive(holder.pid);
  }

  private async breakLock(seen: LockOwner | undefined): Promise<void> {
    // Re-check right before removing, so a lock taken meanwhile by a live process is not broken.
    const current = await this.readLock();
    if (current?.token !== seen?.token) return;
    await unlink(this.lockFile).catch(() => undefined);
  }
}

function summaryOf(deployment: StoredDeployment): DeploymentSummary {
  return {
    id: deployment.id,
    environment: deployment.environment,
    version: deployment.version,
    ref: deployment.ref,
    createdAt: deployment.createdAt,
    ...(deployment.runId ? { runId: deployment.runId } : {}),
    ...(deployment.runUrl ? { runUrl: deployment.runUrl } : {}),
    production: deployment.production,
    transient: deployment.transient,
  };
}
