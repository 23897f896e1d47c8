/** Picks the deploy provider for an environment's `deploy` section; no section means `none`. */
import type { DeploySpec } from '../../config/schema.js';
import type { DeployProvider } from '../model.js';
import { commandProvider } from './command.js';
import { httpProvider } from './http.js';
import { noneProvider } from './none.js';

export { commandProvider, type CommandProviderOptions } from './command.js';
export { httpProvider, signBody, SIGNATURE_HEADER, type DeployHookPayload } from './http.js';
export { noneProvider, NONE_MESSAGE } from './none.js';

export function providerFor(spec: DeploySpec | undefined): DeployProvider {
  switch (spec?.provider) {
    case 'command':
      return commandProvider(spec);
    case 'http':
      return httpProvider(spec);
    case 'none':
    case undefined:
      return noneProvider();
  }
}
