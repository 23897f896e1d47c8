/**
 * Deployment records in GitHub Deployments: the environment's history and the PR's "deployed" badge live there.
 * Each method is one API call. A deployment points at an immutable SHA, never asks GitHub to auto-merge or to check
 * commit statuses (rollgate's checks are the gate), and carries rollgate's facts in its payload.
 */
import type { CreateDeployment, DeploymentState, DeploymentStatus, DeploymentStore, DeploymentSummary } from '../deploy/model.js';
import { withPermission, type GitHubClient } from './client.js';

const PERMISSION = 'deployments: write';
/** GitHub rejects longer deployment status descriptions. */
const MAX_DESCRIPTION = 140;

export interface GitHubDeploymentStoreOptions {
  octokit: GitHubClient;
  owner: string;
  repo: string;
}

interface DeploymentJson {
  id: number;
  sha: string;
  ref: string;
  environment: string;
  payload: unknown;
  created_at: string;
  production_environment?: boolean;
  transient_environment?: boolean;
}

interface StatusJson {
  state: string;
  description?: string | null;
  environment_url?: string;
  log_url?: string;
  target_url?: string;
  created_at?: string;
}

const STATES: readonly DeploymentState[] = ['pending', 'queued', 'in_progress', 'success', 'failure', 'error', 'inactive'];

export function truncateDescription(text: string): string {
  return text.length <= MAX_DESCRIPTION ? text : `${text.slice(0, MAX_DESCRIPTION - 1)}…`;
}

/** The payload as an object: rollgate sends an object; other tools may have sent a JSON string or nothing. */
function payloadOf(deployment: DeploymentJson): Record<string, unknown> {
  let payload = deployment.payload;
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch {
      return {};
    }
  }
  return payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
}

function summaryOf(deployment: DeploymentJson): DeploymentSummary {
  const payload = payloadOf(deployment);
  return {
    id: String(deployment.id),
    environment: deployment.environment,
    version: typeof payload.version === 'string' ? payload.version : deployment.sha,
    ref: deployment.sha,
    createdAt: deployment.created_at,
    ...(typeof payload.runId === 'string' ? { runId: payload.runId } : {}),
    ...(typeof payload.runUrl === 'string' ? { runUrl: payload.runUrl } : {}),
    production: deployment.production_environment ?? deployment.environment === 'production',
    transient: deployment.transient_environment ?? false,
  };
}

function statusOf(status: StatusJson): DeploymentStatus {
  const logUrl = status.log_url || status.target_url;
  return {
    state: STATES.includes(status.state as DeploymentState) ? (status.state as DeploymentState) : 'error',
    ...(status.description ? { description: status.description } : {}),
    ...(status.environment_url ? { environmentUrl: status.environment_url } : {}),
    ...(logUrl ? { logUrl } : {}),
    ...(status.created_at ? { createdAt: status.created_at } : {}),
  };
}

function deploymentId(id: string): number {
  const number = Number(id);
  if (!/^\d+$/.test(id) || !Number.isSafeInteger(number)) {
    throw new Error(`"${id}" is not a GitHub deployment id (a number such as 1234567890); check the deployment-id input`);
  }
  return number;
}

export class GitHubDeploymentStore implements DeploymentStore {
  readonly description: string;
  private readonly octokit: GitHubClient;
  private readonly owner: string;
  private readonly repo: string;

  constructor(options: GitHubDeploymentStoreOptions) {
    this.octokit = options.octokit;
    this.owner = options.owner;
    this.repo = options.repo;
    this.description = `GitHub Deployments of ${options.owner}/${options.repo}`;
  }

  async list(environment: string, limit: number): Promise<DeploymentSummary[]> {
    const perPage = Math.min(100, Math.max(1, Math.floor(limit)));
    const { data } = await withPermission(PERMISSION, () =>
      this.octokit.rest.repos.listDeployments({ owner: this.owner, repo: this.repo, environment, per_page: perPage }),
    );
    return (data as DeploymentJson[]).slice(0, limit).map(summaryOf);
  }

  async status(id: string): Promise<DeploymentStatus> {
    const { data } = await withPermission(PERMISSION, () =>
      this.octokit.rest.repos.listDeploymentStatuses({ owner: this.owner, repo: this.repo, deployment_id: deploymentId(id), per_page: 1 }),
    );
    const latest = (data as StatusJson[])[0];
    return latest ? statusOf(latest) : { state: 'pending' };
  }

  async runFinished(runId: string): Promise<boolean | undefined> {
    if (!/^\d+$/.test(runId)) return undefined;
    try {
      const { data } = await this.octokit.rest.actions.getWorkflowRun({ owner: this.owner, repo: this.repo, run_id: Number(runId) });
      return data.status === 'completed';
    } catch {
      // Without actions: read, or for a run of another repository, the answer is simply unknown.
      return undefined;
    }
  }

  async create(input: CreateDeployment): Promise<DeploymentSummary> {
    const payload = {
      ...(input.payload ?? {}),
      // rollgate's own facts last: an extra payload key cannot hide the version or the run.
      version: input.version,
      ...(input.runId ? { runId: input.runId } : {}),
      ...(input.runUrl ? { runUrl: input.runUrl } : {}),
    };
    const response = await withPermission(PERMISSION, async () => {
      try {
        return await this.octokit.rest.repos.createDeployment({
          owner: this.owner,
          repo: this.repo,
          ref: input.ref,
          environment: input.environment,
          task: 'deploy',
          auto_merge: false,
          required_contexts: [],
          production_environment: input.production,
          transient_environment: input.transient,
          payload,
          description: truncateDescription(input.description),
        });
      } catch (error) {
        if ((error as { status?: unknown }).status === 409) {
          throw new Error(
            `GitHub refused to create a deployment of ${input.ref} to ${input.environment} (409: ${(error as Error).message}). ` +
              'rollgate sends required_contexts [] and auto_merge false, so a branch protection or deployment protection rule of the repository is the likely cause.',
          );
        }
        throw error;
      }
    });
    if (response.status !== 201 || !('id' in response.data)) {
      // 202: GitHub merged the default branch into the ref instead of creating a deployment (auto_merge).
      const message = (response.data as { message?: string }).message ?? 'no deployment in the answer';
      throw new Error(`GitHub did not create a deployment of ${input.ref} to ${input.environment} (${response.status}: ${message}); deploy an immutable commit SHA`);
    }
    return summaryOf(response.data as DeploymentJson);
  }

  async setStatus(id: string, status: DeploymentStatus & { autoInactive?: boolean }): Promise<void> {
    await withPermission(PERMISSION, () =>
      this.octokit.rest.repos.createDeploymentStatus({
        owner: this.owner,
        repo: this.repo,
        deployment_id: deploymentId(id),
        state: status.state,
        ...(status.description !== undefined ? { description: truncateDescription(status.description) } : {}),
        ...(status.environmentUrl ? { environment_url: status.environmentUrl } : {}),
        ...(status.logUrl ? { log_url: status.logUrl } : {}),
        ...(status.autoInactive !== undefined ? { auto_inactive: status.autoInactive } : {}),
      }),
    );
  }
}
