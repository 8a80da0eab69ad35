import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Set by the release bundle (scripts/packaging/bundle.js): a bundle has no package.json beside it. */
declare const HYPERV_IC_EXPORTER_BUNDLED_VERSION: string | undefined;

/** The package version: written into the release bundle, else read from the package.json beside dist/. */
export const VERSION: string = (() => {
  if (typeof HYPERV_IC_EXPORTER_BUNDLED_VERSION === 'string') return HYPERV_IC_EXPORTER_BUNDLED_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
})();
