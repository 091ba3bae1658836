import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { OPTIONS } from '../../node/config.ts'
import { LIGHTPOOL_VERSION } from '../../src/index.ts'
import { plots, IMG_DIR } from '../../scripts/plots.ts'
import { OPERATORS_MD, withSettingsTable } from '../../scripts/settings-table.ts'
import { VERSION_FILE, withVersion } from '../../scripts/version.ts'

/**
 * The docs are generated where they can be and checked where they cannot:
 * the settings table and the plots are what their scripts write, links lead
 * somewhere, and every command and flag the front pages name exists.
 */
const root = join(import.meta.dirname, '../..')
const read = (path: string): string => readFileSync(join(root, path), 'utf8')
const pkg = JSON.parse(read('package.json')) as { version: string, scripts: Record<string, string> }

const DOCS = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', 'node/README.md', 'web/README.md', 'src/pool/README.md', 'src/net/README.md',
  ...readdirSync(join(root, 'docs')).filter(f => f.endsWith('.md')).map(f => `docs/${f}`)]

/** GitHub's heading anchors: lowercased, punctuation dropped, spaces to dashes. */
function anchors (markdown: string): Set<string> {
  const out = new Set<string>()
  const seen = new Map<string, number>()
  for (const [, heading] of markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} +(.+)$/gm)) {
    const slug = heading!.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    out.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return out
}

describe('generated docs are up to date', () => {
  it('the settings table in docs/operators.md is what npm run docs:settings writes', () => {
    const doc = readFileSync(OPERATORS_MD, 'utf8')
    expect(doc, 'run npm run docs:settings').toBe(withSettingsTable(doc))
    // and every setting is in it, once
    const rows = doc.split('\n').filter(l => l.startsWith('| `--'))
    for (const spec of OPTIONS) {
      const flag = spec.kind === 'bool' && spec.default === true ? `--no-${spec.flag}` : `--${spec.flag}`
      expect(rows.filter(r => r.startsWith(`| \`${flag} `) || r.startsWith(`| \`${flag}\``)), flag).toHaveLength(1)
    }
    expect(rows).toHaveLength(OPTIONS.length)
  })

  it('the plots in docs/img are what npm run docs:plots draws, and docs/measurements.md shows each', () => {
    const measurements = read('docs/measurements.md')
    for (const [name, svg] of Object.entries(plots())) {
      expect(readFileSync(join(IMG_DIR, name), 'utf8'), `run npm run docs:plots (${name})`).toBe(svg)
      expect(measurements, name).toContain(`](img/${name})`)
    }
  })
})

describe('the version', () => {
  it('is package.json\'s (npm version rewrites it, scripts/version.ts)', () => {
    expect(LIGHTPOOL_VERSION).toBe(pkg.version)
    const source = readFileSync(VERSION_FILE, 'utf8')
    expect(withVersion(source, pkg.version)).toBe(source)
  })

  it('has a changelog entry', () => {
    expect(read('CHANGELOG.md')).toContain(`## [${pkg.version}]`)
  })
})

describe('docs stay true', () => {
  it('the README is a front door, not a manual', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(180)
  })

  for (const doc of DOCS) {
    it(`${doc}: every relative link leads to a file, and every anchor to a heading`, () => {
      const text = read(doc).replace(/```[\s\S]*?```/g, '')
      const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map(m => m[1]!).filter(l => !/^[a-z]+:/.test(l))
      for (const link of links) {
        const [path, anchor] = link.split('#') as [string, string | undefined]
        const target = path === '' ? join(root, doc) : resolve(dirname(join(root, doc)), path)
        expect(existsSync(target), `${doc} → ${link}`).toBe(true)
        if (anchor !== undefined && statSync(target).isFile() && target.endsWith('.md')) {
          expect([...anchors(readFileSync(target, 'utf8'))], `${doc} → ${link} (in ${relative(root, target)})`).toContain(anchor)
        }
      }
    })
  }

  it('every npm script the docs name exists', () => {
    for (const doc of DOCS) {
      for (const [, name] of read(doc).matchAll(/npm run ([a-z][a-z0-9:-]*)/g)) {
        expect(Object.keys(pkg.scripts), `${doc}: npm run ${name}`).toContain(name)
      }
    }
  })

  it('every lightpool flag the README, operators.md and browser.md name exists', () => {
    const commands = ['node/cli/send-command.ts', 'node/cli/demo-command.ts', 'node/cli/node-command.ts'].map(read).join('\n')
    const known = new Set([
      ...OPTIONS.flatMap(o => [`--${o.flag}`, `--no-${o.flag}`]),
      ...[...commands.matchAll(/(?:Option|option)\('(--[a-z][a-z-]*)/g)].map(m => m[1]!),
      '--help', '--version'
    ])
    expect(known.size).toBeGreaterThan(OPTIONS.length * 2)
    for (const doc of ['README.md', 'docs/operators.md', 'docs/browser.md']) {
      for (const [flag] of read(doc).matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) {
        expect(known, `${doc}: ${flag}`).toContain(flag)
      }
    }
  })
})
