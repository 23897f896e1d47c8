/** Starts the example status service in-process for a test and closes every one started, after each test. */
import { afterAll, afterEach } from '@jest/globals';
import { closeHttpAgents } from '../../packages/checks/http-client.js';
import { startStatusService, type StatusService, type StatusServiceOptions } from '../../examples/status-service/server.js';

export function statusServices(defaults: StatusServiceOptions = {}): (options?: StatusServiceOptions) => Promise<StatusService> {
  const running: StatusService[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await closeHttpAgents();
  });
  return async (options = defaults) => {
    const started = await startStatusService(options);
    running.push(started);
    return started;
  };
}
