/**
 * Where deployment records go: GitHub Deployments when running in a GitHub workflow with a token, otherwise the local
 * JSON store under .rollgate/ (CLI, demo, tests), so previous-version and the in-progress check work everywhere.
 */
import { resolve } from 'node:path';
import type { Logger } from '../checks/model.js';
import { apiUrlFromEnv, repoFromEnv } from '../github/env.js';
import { LocalDeploymentStore } from './local-store.js';
import type { DeploymentStore } from './model.js';

export interface StoreChoice {
  token: string;
  env: Record<string, string | undefined>;
  cwd: string;
  log: Logger;
  /** Pause between API writes (GitHub asks for ~1 s; tests pass 0). */
  writeSpacingMs?: number;
}

export async function storeFor(choice: StoreChoice): Promise<DeploymentStore> {
  const repo = repoFromEnv(choice.env);
  if (choice.token && repo && choice.env.GITHUB_ACTIONS === 'true') {
    // Loaded only when used: octokit is a large part of a bundle, and local runs never need it.
    const [{ createGitHubClient }, { GitHubDeploymentStore }] = await Promise.all([import('../github/client.js'), import('../github/deployments.js')]);
    const octokit = createGitHubClient({
      token: choice.token,
      baseUrl: apiUrlFromEnv(choice.env),
      log: choice.log,
      ...(choice.writeSpacingMs !== undefined ? { writeSpacingMs: choice.writeSpacingMs } : {}),
    });
    return new GitHubDeploymentStore({ octokit, ...repo });
  }
  return new LocalDeploymentStore(resolve(choice.cwd, '.rollgate'));
}
