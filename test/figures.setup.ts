import { existsSync, readFileSync, rmSync } from 'node:fs'
import { FIGURES_FILE } from './helpers/figures.ts'

/** vitest globalSetup: starts each run with no figures, prints what the tests recorded at the end. */
export function setup (): void {
  rmSync(FIGURES_FILE, { force: true })
}

export function teardown (): void {
  if (!existsSync(FIGURES_FILE)) return
  const rows = readFileSync(FIGURES_FILE, 'utf8').trim().split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>)
  if (rows.length === 0) return
  const lines = ['', '── reliability figures ' + '─'.repeat(57)]
  let suite = ''
  for (const row of rows) {
    if (row.suite !== suite) {
      suite = String(row.suite)
      lines.push(`${suite}`)
    }
    const { suite: _s, name, ...rest } = row
    lines.push(`  ${String(name).padEnd(44)} ${Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`).join('  ')}`)
  }
  lines.push('─'.repeat(80))
  process.stdout.write(lines.join('\n') + '\n')
}
