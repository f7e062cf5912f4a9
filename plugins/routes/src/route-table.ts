/**
 * Discovers the route files of an app (`pages/`, `api/`) once, at startup, and checks them: conflicts
 * and invalid names are errors that name the files and say how to fix them.
 */
import { readdir } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { InvalidRouteFileError, RouteConflictError } from './errors.js'
import { parseRoutePath, SPECIAL_FILES, stripRouteExtension, type ParamSpec } from './lib/route-path.js'

export interface PageEntry {
  kind: 'page'
  file: string
  urls: string[]
  params: ParamSpec[]
  /** Layout files wrapping the page, outermost first. */
  layouts: string[]
  /** The nearest `_error` page, or null. */
  errorPage: SpecialPage | null
}

/** A `_404` or `_error` page with the layouts of its folder. */
export interface SpecialPage {
  file: string
  layouts: string[]
}

export interface ApiEntry {
  kind: 'api'
  file: string
  urls: string[]
  params: ParamSpec[]
}

export interface RouteTable {
  pages: PageEntry[]
  api: ApiEntry[]
  /** `pages/_404`, or null. */
  notFound: SpecialPage | null
  /** `pages/_error`, used for errors outside any page route; null when absent. */
  rootError: SpecialPage | null
  /** `pages/_layout`, the document shell; null when absent (the built-in shell is used). */
  rootLayout: string | null
}

interface FoundFile {
  file: string
  /** Path segments below the scanned root, extension removed from the last. */
  segments: string[]
}

/** Every module file below `root`, skipping `_private` folders, tests and declaration files. */
async function findModules (root: string): Promise<FoundFile[]> {
  const found: FoundFile[] = []
  const walk = async (dir: string, segments: string[]): Promise<void> => {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue
      if (entry.isDirectory()) {
        if (entry.name.startsWith('_') || entry.name === 'node_modules') continue
        await walk(join(dir, entry.name), [...segments, entry.name])
      } else if (entry.isFile()) {
        const base = stripRouteExtension(entry.name)
        if (base === null) continue
        if (base.startsWith('_') && !SPECIAL_FILES.has(base)) continue
        found.push({ file: join(dir, entry.name), segments: [...segments, base] })
      }
    }
  }
  await walk(root, [])
  return found
}

/** Claims URL shapes for a file; a shape claimed twice is a conflict that names both files. */
class ShapeRegistry {
  readonly #owners = new Map<string, string>()
  readonly #root: string
  constructor (root: string) {
    this.#root = root
  }

  claim (shapes: readonly string[], file: string): void {
    for (const shape of shapes) {
      const owner = this.#owners.get(shape)
      if (owner !== undefined) {
        const [first, second] = [displayPath(this.#root, owner), displayPath(this.#root, file)].sort()
        throw new RouteConflictError(first as string, second as string, shape.replaceAll(':', ':param'))
      }
    }
    for (const shape of shapes) this.#owners.set(shape, file)
  }
}

/** The folder key of a page file's segments (every folder, groups included), '' for the root. */
function folderKey (segments: readonly string[]): string {
  return segments.slice(0, -1).join('/')
}

/** The keys of a folder and every folder above it, outermost first: 'a/b' → ['', 'a', 'a/b']. */
function ancestorKeys (key: string): string[] {
  if (key === '') return ['']
  const parts = key.split('/')
  return ['', ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))]
}

export async function buildRouteTable (dir: string): Promise<RouteTable> {
  const pagesDir = join(dir, 'pages')
  const apiDir = join(dir, 'api')
  const shapes = new ShapeRegistry(dir)
  const layouts = new Map<string, string>()
  const errors = new Map<string, string>()
  let notFound: FoundFile | null = null
  const pageFiles: FoundFile[] = []

  const claimSpecial = (map: Map<string, string>, key: string, file: string): void => {
    const other = map.get(key)
    if (other !== undefined) throw new RouteConflictError(displayPath(dir, other), displayPath(dir, file), 'the same special file')
    map.set(key, file)
  }

  for (const found of await findModules(pagesDir)) {
    const base = found.segments[found.segments.length - 1] as string
    const key = folderKey(found.segments)
    if (base === '_layout') claimSpecial(layouts, key, found.file)
    else if (base === '_error') claimSpecial(errors, key, found.file)
    else if (base === '_404') {
      if (key !== '') {
        throw new InvalidRouteFileError(displayPath(dir, found.file), 'a not-found page is only read at pages/_404; move it there')
      }
      notFound = found
    } else pageFiles.push(found)
  }

  const pages: PageEntry[] = []
  const layoutsOf = (folders: readonly string[]): string[] =>
    ancestorKeys(folders.join('/')).flatMap(k => layouts.get(k) ?? [])

  for (const found of pageFiles) {
    const parsed = parseRoutePath(found.segments)
    if ('error' in parsed) throw new InvalidRouteFileError(displayPath(dir, found.file), parsed.error)
    shapes.claim(parsed.shapes, found.file)
    const chain = ancestorKeys(folderKey(found.segments))
    const errorKey = chain.reverse().find(k => errors.has(k))
    pages.push({
      kind: 'page',
      file: found.file,
      urls: parsed.urls,
      params: parsed.params,
      layouts: layoutsOf(found.segments.slice(0, -1)),
      errorPage: errorKey === undefined ? null : { file: errors.get(errorKey) as string, layouts: layoutsOf(errorKey === '' ? [] : errorKey.split('/')) }
    })
  }

  const api: ApiEntry[] = []
  for (const found of await findModules(apiDir)) {
    const base = found.segments[found.segments.length - 1] as string
    if (SPECIAL_FILES.has(base)) {
      throw new InvalidRouteFileError(displayPath(dir, found.file), `${base} files belong in pages/, not api/`)
    }
    const parsed = parseRoutePath(['api', ...found.segments])
    if ('error' in parsed) throw new InvalidRouteFileError(displayPath(dir, found.file), parsed.error)
    shapes.claim(parsed.shapes, found.file)
    api.push({ kind: 'api', file: found.file, urls: parsed.urls, params: parsed.params })
  }

  const rootError = errors.get('')
  return {
    pages,
    api,
    notFound: notFound === null ? null : { file: notFound.file, layouts: layoutsOf([]) },
    rootError: rootError === undefined ? null : { file: rootError, layouts: layoutsOf([]) },
    rootLayout: layouts.get('') ?? null
  }
}

/** A file path relative to the app directory with forward slashes, for messages and listings. */
export function displayPath (dir: string, file: string): string {
  return relative(dir, file).split(sep).join('/')
}
