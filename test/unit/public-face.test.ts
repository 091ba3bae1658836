import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * node/ and web/ build on the core's public face, src/index.ts, and nothing
 * else of src/: what they need is exported there deliberately, so the core's
 * internals can move without breaking them (and the npm package's entry is
 * the face they use). Beside isomorphic.test.ts, which keeps the arrows from
 * pointing back. Also: distinct factories have distinct names.
 */
const repo = join(import.meta.dirname, '../..')
const src = join(repo, 'src')
const face = join(src, 'index.ts')

function files (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

function code (path: string): string {
  return readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
}

describe('node/ and web/ import the core only through src/index.ts', () => {
  const sources = [...files(join(repo, 'node')), ...files(join(repo, 'web'))]

  it('has sources to check', () => {
    expect(sources.length).toBeGreaterThan(20)
  })

  for (const path of sources) {
    it(relative(repo, path), () => {
      for (const [, spec] of code(path).matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        if (!spec!.startsWith('.')) continue
        const target = resolve(dirname(path), spec!)
        if (!target.startsWith(src + '/')) continue
        expect(relative(repo, target), `${relative(repo, path)} imports ${spec}`).toBe(relative(repo, face))
      }
    })
  }

  it('the package\'s entries name what they export (no `export *`: a module\'s export is not public by accident)', () => {
    // (not web/widget/register.ts: it is web/index.ts plus the element's registration, so `export *` of that face is its job)
    for (const entry of ['src/index.ts', 'src/libp2p.ts', 'node/index.ts', 'web/index.ts']) {
      expect(code(join(repo, entry)), entry).not.toMatch(/export\s*(type\s*)?\*/)
    }
  })

  it('web/ does not give the browser factory the core factory\'s name', () => {
    expect(code(join(repo, 'web/index.ts'))).not.toMatch(/\bas\s+createLightpool\b/)
  })
})
