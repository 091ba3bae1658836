import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * src/ is the isomorphic core: it must run unchanged in Node and in a browser.
 * The type check (src/tsconfig.json has no Node types) catches most slips;
 * this catches the rest: imports of node/ or web/, Node built-ins by any
 * name, and globals that exist in only one of the two runtimes.
 */
const root = join(import.meta.dirname, '../../src')

function files (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

const NODE_BUILTINS = ['assert', 'buffer', 'child_process', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http', 'https', 'net', 'os', 'path', 'process', 'stream', 'tls', 'url', 'util', 'worker_threads', 'zlib']
const FORBIDDEN_GLOBALS = [/\bprocess\./, /\bBuffer\./, /\bBuffer\(/, /\bwindow\./, /\bdocument\./, /\blocalStorage\b/, /\b__dirname\b/, /\brequire\(/, /\bindexedDB\b/]

describe('src/ is isomorphic', () => {
  const sources = files(root)

  it('has sources to check', () => {
    expect(sources.length).toBeGreaterThan(5)
  })

  for (const path of sources) {
    it(relative(root, path), () => {
      const text = readFileSync(path, 'utf8')
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
      for (const [, spec] of code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        expect(spec!.startsWith('node:'), `${spec} is a Node built-in`).toBe(false)
        expect(NODE_BUILTINS.includes(spec!), `${spec} is a Node built-in`).toBe(false)
        expect(/(^|\/)\.\.\/(\.\.\/)*(node|web)\//.test(spec!) && !spec!.startsWith('./'), `${spec} reaches into node/ or web/`).toBe(false)
      }
      for (const pattern of FORBIDDEN_GLOBALS) {
        expect(pattern.test(code), `uses ${pattern}`).toBe(false)
      }
    })
  }
})
