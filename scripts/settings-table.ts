/**
 * npm run docs:settings [-- --check]
 *
 * Writes the settings table of docs/operators.md from node/config.ts's
 * OPTIONS (flag, environment variable, default, meaning), between the two
 * marker comments. The table is never edited by hand: change the option in
 * node/config.ts and run this. test/unit/docs.test.ts fails when the
 * checked-in table differs from what this would write; `--check` does the
 * same from the command line (exit 1).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { envName, OPTIONS, type OptionSpec } from '../node/config.ts'

export const BEGIN = '<!-- settings-table: written by `npm run docs:settings` from node/config.ts; do not edit by hand -->'
export const END = '<!-- /settings-table -->'
export const OPERATORS_MD = join(import.meta.dirname, '../docs/operators.md')

/** The flag as an operator types it: `--no-relay` for a setting that is on by default. */
export function flagOf (spec: OptionSpec): string {
  return spec.kind === 'bool' && spec.default === true ? `--no-${spec.flag}` : `--${spec.flag}`
}

function argOf (spec: OptionSpec): string | undefined {
  if (spec.kind === 'bool') return undefined
  if (spec.arg !== undefined) return spec.arg
  if (spec.key.endsWith('Ms')) return 'ms'
  if (spec.key.endsWith('Seconds')) return 's'
  return spec.kind === 'int' || spec.kind === 'bigint' ? 'n' : 'value'
}

function sizeOf (bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`
  }
  return `${bytes} B`
}

function defaultOf (spec: OptionSpec): string {
  const v = spec.default
  if (spec.kind === 'bool') return v === true ? 'on' : 'off'
  if (Array.isArray(v)) return v.length === 0 ? '—' : v.map(x => `\`${String(x)}\``).join(', ')
  if (typeof v === 'string') return v === '' ? '—' : `\`${v}\``
  if (typeof v === 'number' && /Bytes$/.test(spec.key) && v >= 1024) return `${v} (${sizeOf(v)})`
  return String(v)
}

/** Help text as table-cell markdown: flags and URLs as code, no stray HTML or cell breaks. */
function meaningOf (spec: OptionSpec): string {
  const choices = spec.choices !== undefined && spec.arg !== spec.choices.join('|') ? `: ${spec.choices.join(', ')}` : ''
  return (spec.help + choices)
    .split(/(--[a-z][a-z0-9-]*|https?:\/\/[^\s;,)]+|(?<=^|\s)\*(?=\s|$))/)
    .map((part, i) => i % 2 === 1 ? `\`${part}\`` : part.replace(/</g, '&lt;').replace(/>/g, '&gt;'))
    .join('')
    .replace(/\|/g, '\\|')
}

function code (text: string): string {
  return `\`${text.replace(/\|/g, '\\|')}\``
}

export function settingsTable (options: readonly OptionSpec[] = OPTIONS): string {
  const rows = options.map((spec) => {
    const arg = argOf(spec)
    const flag = arg === undefined ? flagOf(spec) : `${flagOf(spec)} <${arg}>`
    return `| ${code(flag)} | \`${envName(spec)}\` | ${defaultOf(spec)} | ${meaningOf(spec)} |`
  })
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n')
}

/** `doc` with the text between the markers replaced by the current table. */
export function withSettingsTable (doc: string): string {
  const start = doc.indexOf(BEGIN)
  const end = doc.indexOf(END)
  if (start < 0 || end < start) throw new Error(`docs/operators.md lacks the settings table markers:\n${BEGIN}\n${END}`)
  return `${doc.slice(0, start + BEGIN.length)}\n${settingsTable()}\n${doc.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(OPERATORS_MD, 'utf8')
  const next = withSettingsTable(doc)
  if (process.argv.includes('--check')) {
    if (next !== doc) {
      process.stderr.write('docs/operators.md: the settings table is out of date; run npm run docs:settings\n')
      process.exit(1)
    }
  } else if (next !== doc) {
    writeFileSync(OPERATORS_MD, next)
    process.stdout.write(`docs/operators.md: settings table written (${OPTIONS.length} settings)\n`)
  } else {
    process.stdout.write('docs/operators.md: settings table already up to date\n')
  }
}
