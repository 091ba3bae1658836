import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { envName, OPTIONS } from '../../node/config.ts'

/**
 * The README is the front door: it gives the set-up and test commands.
 * docs/operators.md is the operator's manual: it must name every setting,
 * method and metric the code has.
 */
const root = join(import.meta.dirname, '../..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const operators = readFileSync(join(root, 'docs/operators.md'), 'utf8')

describe('README stays true', () => {
  it('gives the set-up and test commands', () => {
    for (const cmd of ['npm install', 'npm start', 'npm test']) expect(readme).toContain(cmd)
  })

  it('points operators to their manual', () => {
    expect(readme).toContain('docs/operators.md')
  })
})

describe('docs/operators.md stays true', () => {
  it('documents every node setting with its flag and environment variable', () => {
    for (const spec of OPTIONS) {
      const flag = spec.kind === 'bool' && spec.default === true ? `--no-${spec.flag}` : `--${spec.flag}`
      expect(operators, flag).toContain(`\`${flag}`)
      expect(operators, envName(spec)).toContain(envName(spec))
    }
  })

  it('documents every JSON-RPC method', () => {
    const methods = readFileSync(join(root, 'node/rpc/methods.ts'), 'utf8')
    const names = new Set([...methods.matchAll(/methods\.set\('((?:pool|p2p)_[a-zA-Z]+)'/g)].map(m => m[1]!))
    expect(names.size).toBeGreaterThan(8)
    for (const name of names) expect(operators, name).toContain(name)
  })

  it('documents every lightpool metric', () => {
    const source = readFileSync(join(root, 'node/metrics.ts'), 'utf8')
    const names = [...source.matchAll(/'(lightpool_[a-z_]+)'/g)].map(m => m[1]!).filter(n => !n.startsWith('lightpool_process_'))
    expect(names.length).toBeGreaterThan(10)
    for (const name of names) {
      // families are listed compactly: lightpool_pool_txs, `_bytes`…
      const stem = name.replace(/_(bytes|bodies|max_txs|max_bytes|fee_floor|duplicate_total|published_total|bodies_total|retries_total|given_up_total|banned_peers|peer_bans_total)$/, '')
      expect(operators.includes(name) || operators.includes(`\`_${name.slice(stem.length + 1)}\``), name).toBe(true)
    }
  })
})
