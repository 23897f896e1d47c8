/**
 * The deploy engine's ports: where deployment records live (DeploymentStore) and how a version gets shipped
 * (DeployProvider). GitHub Deployments and a local JSON file implement the store; command, http and none the provider.
 */
import type { Logger } from '../checks/model.js';
import type { Secrets } from '../config/secrets.js';

/** GitHub's deployment status states; `pending` is a deployment with no status yet. */
export type DeploymentState = 'pending' | 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

export interface DeploymentSummary {
  /** The store's id (GitHub's numeric id as a string, or a local id). */
  id: string;
  environment: string;
  /** The version shipped: commit SHA or image tag (payload.version). */
  version: string;
  /** The ref the deployment points at (a SHA for GitHub). */
  ref: string;
  createdAt: string;
  /** The run that made it (payload.runId), when rollgate made it. */
  runId?: string;
  /** Link to that run (payload.runUrl). */
  runUrl?: string;
  production: boolean;
  transient: boolean;
}

export interface DeploymentStatus {
  state: DeploymentState;
  description?: string;
  environmentUrl?: string;
  logUrl?: string;
  createdAt?: string;
}

export interface CreateDeployment {
  environment: string;
  version: string;
  /** What the record points at: on GitHub an immutable SHA (the PR head SHA on pull_request events). */
  ref: string;
  production: boolean;
  transient: boolean;
  /** GitHub's auto_inactive: false for per-PR preview environments so they do not deactivate each other. */
  autoInactive: boolean;
  description: string;
  runId?: string;
  runUrl?: string;
  /** Extra facts kept with the record (GitHub: the deployment payload). */
  payload?: Record<string, unknown>;
}

export interface DeploymentStore {
  /** Where records live, for messages ("GitHub Deployments of owner/repo", ".rollgate/deployments.json"). */
  readonly description: string;
  /** Recent deployments of an environment, newest first (one call on GitHub). */
  list(environment: string, limit: number): Promise<DeploymentSummary[]>;
  /** The latest status of a deployment (one call on GitHub); `pending` when it has none. */
  status(id: string): Promise<DeploymentStatus>;
  create(input: CreateDeployment): Promise<DeploymentSummary>;
  /**
   * Whether the run that made a deployment has finished (one call on GitHub; needs `actions: read`). A deployment still
   * `in_progress` whose run has finished was abandoned (the runner died) and holds nothing. Undefined when unknown.
   */
  runFinished?(runId: string): Promise<boolean | undefined>;
  setStatus(id: string, status: DeploymentStatus & { autoInactive?: boolean }): Promise<void>;
}

export interface DeployContext {
  version: string;
  environment: string;
  /** The environment URL, when known. */
  url?: string;
  /** The rollout phase, when deploying as part of one. */
  phase?: string;
  /** The ref the deployment record points at (a SHA on GitHub); sent to http deploy hooks. */
  ref?: string;
  /** Link to the run doing the deployment; sent to http deploy hooks. */
  runUrl?: string;
  log: Logger;
  signal: AbortSignal;
  secrets: Secrets;
  /** Folder that relative paths in the config resolve against; the command provider's working directory. */
  baseDir: string;
}

export type ProviderResult = { ok: true; message: string; environmentUrl?: string } | { ok: false; message: string };

export interface DeployProvider {
  readonly kind: 'command' | 'http' | 'none';
  deploy(ctx: DeployContext): Promise<ProviderResult>;
}
