import type { PoolForecast } from '../../src/index.ts'
import { h, setAttr, setText } from './dom.ts'
import { formatBytes, formatCount, formatFee } from './format.ts'
import type { PoolView } from './pool-view.ts'

/**
 * What comes next: the fee estimate (next rollup, within K) and the
 * projected next K rollups drawn as blocks — tx count, bytes, fee range and
 * how full each is. Built once for K blocks; `update` only changes text and
 * a few attributes, and only when the view recomputed its forecast.
 */
interface Block { li: HTMLElement, fill: HTMLElement, txs: HTMLElement, bytes: HTMLElement, fees: HTMLElement }

export class RollupBlocks {
  readonly el: HTMLElement
  private readonly next: HTMLElement
  private readonly within: HTMLElement
  private readonly withinLabel: HTMLElement
  private readonly note: HTMLElement
  private readonly list: HTMLOListElement
  private readonly blocks: Block[] = []
  private shown = ''

  constructor (opts: { compact: boolean }) {
    const id = `lp-rollups-${Math.random().toString(36).slice(2, 8)}`
    this.next = h('strong', { class: 'lp-estimate-value', text: '–' })
    this.within = h('strong', { class: 'lp-estimate-value', text: '–' })
    this.withinLabel = h('span', { class: 'lp-estimate-label', text: 'Within the next rollups' })
    this.note = h('p', { class: 'lp-muted lp-rollup-note' })
    this.list = h('ol', { class: 'lp-rollups', attrs: { 'aria-label': 'Projected next rollups, best fees first' } })
    this.el = h('section', { class: `lp-card lp-rollups-card${opts.compact ? ' lp-rollups-compact' : ''}`, attrs: { 'aria-labelledby': id } },
      h('div', { class: 'lp-card-head' },
        h('h2', { class: 'lp-card-title', text: 'Next rollups', attrs: { id } }),
        h('div', { class: 'lp-estimates', attrs: { role: 'group', 'aria-label': 'Fee estimate' } },
          h('div', { class: 'lp-estimate', attrs: { 'data-estimate': 'next' } }, h('span', { class: 'lp-estimate-label', text: 'Next rollup' }), this.next),
          h('div', { class: 'lp-estimate', attrs: { 'data-estimate': 'within' } }, this.withinLabel, this.within))),
      this.list,
      opts.compact ? null : this.note)
  }

  update (view: PoolView): void {
    const f = view.forecast()
    if (!f.fresh && this.shown !== '') return
    const key = JSON.stringify([f.estimate.byRollup.map(String), f.rollups.map(r => [r.txs, r.bytes, String(r.minFee), String(r.maxFee)])])
    if (key === this.shown) return
    this.shown = key
    this.render(f)
  }

  private render (f: PoolForecast): void {
    const K = f.config.rollups
    const fee = (v: bigint | undefined): string => v === undefined ? 'none fits' : `≥ ${formatFee(v)}`
    setText(this.next, fee(f.estimate.nextRollup))
    setText(this.withinLabel, `Within ${K} rollups`)
    setText(this.within, fee(f.estimate.withinRollups))
    setAttr(this.next.parentElement!, 'title', `the fee a ${formatBytes(f.estimate.size)} tx needs now to be in the next rollup`)
    setAttr(this.within.parentElement!, 'title', `the fee a ${formatBytes(f.estimate.size)} tx needs now to be in one of the next ${K} rollups`)
    setText(this.note, `Best fees first, up to ${formatCount(f.config.maxTxs)} txs and ${formatBytes(f.config.maxBytes)} a rollup; estimates for a ${formatBytes(f.estimate.size)} tx, never below the pool's floor (${formatFee(f.estimate.floor)}).`)
    while (this.blocks.length < f.rollups.length) this.blocks.push(this.makeBlock(this.blocks.length))
    f.rollups.forEach((r, i) => {
      const b = this.blocks[i]!
      const share = Math.max(r.txs / f.config.maxTxs, r.bytes / f.config.maxBytes)
      b.fill.style.height = `${Math.round(Math.min(1, share) * 100)}%`
      setAttr(b.li, 'data-empty', r.txs === 0 ? 'true' : 'false')
      setAttr(b.li, 'data-full', r.full ? 'true' : 'false')
      setText(b.txs, `${formatCount(r.txs)} tx${r.txs === 1 ? '' : 's'}`)
      setText(b.bytes, formatBytes(r.bytes))
      setText(b.fees, r.minFee === undefined ? 'empty' : r.minFee === r.maxFee ? `fee ${formatFee(r.minFee)}` : `fee ${formatFee(r.minFee)}–${formatFee(r.maxFee!)}`)
    })
  }

  private makeBlock (i: number): Block {
    const fill = h('div', { class: 'lp-rollup-fill', attrs: { 'aria-hidden': 'true' } })
    const txs = h('span', { class: 'lp-rollup-txs' })
    const bytes = h('span', { class: 'lp-rollup-bytes' })
    const fees = h('span', { class: 'lp-rollup-fees' })
    const li = h('li', { class: 'lp-rollup', attrs: { 'data-index': String(i) } },
      fill,
      h('span', { class: 'lp-rollup-name', text: i === 0 ? 'Next' : `+${i}` }),
      txs, bytes, fees)
    this.list.append(li)
    return { li, fill, txs, bytes, fees }
  }
}
