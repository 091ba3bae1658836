import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

/**
 * Figures the reliability suite measures (cases run, messages before a ban,
 * time-to-all before and during an attack…). Tests append them here; the
 * global teardown (test/figures.setup.ts) prints them as one table at the end.
 */
export const FIGURES_FILE = join(resolve(import.meta.dirname, '../..'), 'test/output/figures.jsonl')

export function recordFigure (suite: string, name: string, figures: Record<string, string | number | boolean>): void {
  mkdirSync(dirname(FIGURES_FILE), { recursive: true })
  appendFileSync(FIGURES_FILE, `${JSON.stringify({ suite, name, ...figures })}\n`)
}

/** Scale for heavier runs: `npm run test:stress` sets LIGHTPOOL_STRESS=1. */
export const STRESS = process.env.LIGHTPOOL_STRESS === '1'
