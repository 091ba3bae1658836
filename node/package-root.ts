import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The folder holding lightpool's package.json: the repository when run from
 * the sources (node/…), the installed package when run from its build
 * (dist/js/node/…). The built web page and library (dist/web, dist/lib) are
 * found from here, so both layouts serve them.
 */
export function packageRoot (from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(from)}`)
    dir = parent
  }
  return dir
}
