/** The rollgate version, kept equal to package.json's by a test (bundles cannot read package.json at run time). */
export const ROLLGATE_VERSION = '0.1.0';
