/**
 * npm's "version" lifecycle script: `npm version <patch|minor|major|x.y.z>`
 * bumps package.json, then runs this, which writes the new version into
 * LIGHTPOOL_VERSION (src/lightpool.ts); the script line then stages it, so
 * the version commit carries both.
 *
 * Why a written constant and not `import … from '../package.json' with
 * { type: 'json' }`: src/lightpool.ts is built to dist/js/src/lightpool.js,
 * where '../package.json' would be dist/js/package.json, which is not in the
 * package (and would become the package scope of dist/js); the browser
 * bundle would carry the whole of package.json. test/unit/docs.test.ts
 * checks the two agree.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(import.meta.dirname, '..')
export const VERSION_FILE = join(ROOT, 'src/lightpool.ts')
const LINE = /^export const LIGHTPOOL_VERSION = '[^']*'/m

/** `source` (src/lightpool.ts) with LIGHTPOOL_VERSION set to `version`. */
export function withVersion (source: string, version: string): string {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`version ${version} is not semver`)
  if (!LINE.test(source)) throw new Error('src/lightpool.ts has no `export const LIGHTPOOL_VERSION = \'…\'` line')
  return source.replace(LINE, `export const LIGHTPOOL_VERSION = '${version}'`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  writeFileSync(VERSION_FILE, withVersion(readFileSync(VERSION_FILE, 'utf8'), version))
  process.stdout.write(`src/lightpool.ts: LIGHTPOOL_VERSION = '${version}'\n`)
}
