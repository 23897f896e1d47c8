/** The `none` deploy provider: something else ships the version; rollgate only records and verifies it. */
import type { DeployProvider } from '../model.js';

export const NONE_MESSAGE = 'no provider: the deployment happens elsewhere; recording and verifying only';

export function noneProvider(): DeployProvider {
  return { kind: 'none', deploy: () => Promise.resolve({ ok: true, message: NONE_MESSAGE }) };
}
