/**
 * The one place where route, layout and page modules are loaded.
 *
 * TypeScript files are loaded with jiti, which transpiles and evaluates them itself, so `.ts` pages work
 * on plain Node 20 without a global loader hook, and packages from node_modules are imported natively
 * (one instance shared with the app). Plain `.js`/`.mjs` files are imported natively. Live reload (a
 * later plugin) swaps modules through `ModuleLoader.reload`, never through import cache-busting, which
 * leaks every version (nodejs/node#49442).
 */
import { pathToFileURL } from 'node:url'
import { createJiti, type Jiti } from 'jiti'

/** A loaded module namespace. */
export type ModuleNamespace = Record<string, unknown>

export interface ModuleLoader {
  /** Loads a module (once; later calls return the same namespace until it is reloaded). */
  import (file: string): Promise<ModuleNamespace>
  /** Loads the current version of a file, bypassing every cache (for live reload). */
  reload (file: string): Promise<ModuleNamespace>
}

const TYPESCRIPT = /\.m?ts$/

export interface ModuleLoaderOptions {
  /** Where jiti resolves bare imports from and keeps its transpile cache; default: the current directory. */
  base?: string
  /** Source maps for transpiled files, so stack traces point at the TypeScript lines. Default true. */
  sourceMaps?: boolean
}

export function createModuleLoader (options: ModuleLoaderOptions = {}): ModuleLoader {
  const base = pathToFileURL(`${options.base ?? process.cwd()}/`).href
  const sourceMaps = options.sourceMaps ?? true
  let cached: Jiti | undefined
  const jiti = (): Jiti => {
    cached ??= createJiti(base, { fsCache: true, moduleCache: true, interopDefault: false, sourceMaps })
    return cached
  }
  return {
    async import (file) {
      if (TYPESCRIPT.test(file)) return await jiti().import<ModuleNamespace>(file)
      return await import(pathToFileURL(file).href) as ModuleNamespace
    },
    async reload (file) {
      const fresh = createJiti(base, { fsCache: false, moduleCache: false, interopDefault: false, sourceMaps })
      return await fresh.import<ModuleNamespace>(file)
    }
  }
}
