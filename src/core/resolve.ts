/**
 * How names that may be paths or package names are told apart and resolved: `--plugins`,
 * `include:` and the project configuration's entries all follow Node's module resolution for
 * packages (node_modules upward from the referring file, the package's `exports`).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

/** True for `./x`, `../x`, `/x`, `C:\x`: a spec that is a path whatever exists. */
export function isExplicitPath(spec: string): boolean {
  return isAbsolute(spec) || /^\.{1,2}([\\/]|$)/.test(spec);
}

/**
 * Resolve a package specifier (`leakhunt-plugin-snapshot`, `@team/leak-recipes/nic.yaml`) from
 * a file as Node's require does; throws Node's error (code MODULE_NOT_FOUND,
 * ERR_PACKAGE_PATH_NOT_EXPORTED) when it cannot.
 */
export function resolvePackageSpecifier(spec: string, fromFile: string): string {
  return createRequire(fromFile).resolve(spec);
}

/** The folder of an installed package, looked for in node_modules from `fromDir` upward as Node does; undefined when none. */
export function findPackageFolder(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
