import { decodeTx, toHex } from '../../src/index.ts'
import { h, setText } from './dom.ts'
import { formatBytes, formatCount, formatDuration, formatFee, hexDump } from './format.ts'
import type { ObservedNode } from './types.ts'

/**
 * The detail view of one pending tx: its metadata at once, and its body —
 * from this tab's store if it holds it, else fetched on demand from a peer
 * that announced it (light mode's `getTx`), validated before it is shown.
 */
export class TxDetail {
  readonly el: HTMLDialogElement
  private readonly title: HTMLElement
  private readonly fields: HTMLElement
  private readonly bodyState: HTMLElement
  private readonly bodyView: HTMLElement
  private readonly node: () => ObservedNode | undefined
  private current: string | undefined

  constructor (node: () => ObservedNode | undefined) {
    this.node = node
    this.title = h('h2', { class: 'lp-dialog-title', attrs: { id: 'lp-detail-title' } })
    this.fields = h('dl', { class: 'lp-fields' })
    this.bodyState = h('p', { class: 'lp-body-state', attrs: { role: 'status' } })
    this.bodyView = h('div', { class: 'lp-body-view' })
    const close = h('button', { class: 'lp-button lp-close', text: 'Close', attrs: { type: 'button' }, on: { click: () => { this.el.close() } } })
    this.el = h('dialog', { class: 'lp-dialog', attrs: { 'aria-labelledby': 'lp-detail-title' } },
      h('div', { class: 'lp-dialog-head' }, this.title, close),
      this.fields,
      h('h3', { class: 'lp-subtitle', text: 'Body' }),
      this.bodyState,
      this.bodyView)
    this.el.addEventListener('click', (ev) => { if (ev.target === this.el) this.el.close() })
    this.el.addEventListener('close', () => { this.current = undefined })
  }

  open (hash: string): void {
    const node = this.node()
    if (node === undefined) return
    this.current = hash
    const tx = node.pool.get(hash)
    setText(this.title, 'Transaction')
    const now = Date.now()
    const rows: Array<[string, string | Node]> = [['Hash', h('code', { class: 'lp-hash lp-wrap', text: hash })]]
    if (tx === undefined) {
      rows.push(['Status', 'no longer pending in this tab'])
    } else {
      rows.push(
        ['Fee', formatFee(tx.fee)],
        ['Size', `${formatBytes(tx.size)} (${formatCount(tx.size)} bytes)`],
        ['Received', `${new Date(tx.receivedAt).toLocaleString()} · ${formatDuration(now - tx.receivedAt)} ago`],
        ['Expires', `${new Date(tx.expiresAt).toLocaleString()} · in ${formatDuration(tx.expiresAt - now)}`],
        ['Nullifiers', h('div', {}, ...tx.nullifiers.map(n => h('code', { class: 'lp-hash lp-wrap lp-block', text: n })))]
      )
    }
    this.fields.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]))
    this.bodyView.replaceChildren()
    if (!this.el.open) this.el.showModal()
    void this.loadBody(node, hash, tx?.hasBody === true)
  }

  private async loadBody (node: ObservedNode, hash: string, held: boolean): Promise<void> {
    setText(this.bodyState, held ? 'Reading the body from this tab’s store…' : 'Fetching the body from a peer that announced it…')
    const started = performance.now()
    let body: Uint8Array | undefined
    try {
      body = await Promise.race([
        node.getTx(hash),
        new Promise<undefined>(resolve => setTimeout(() => { resolve(undefined) }, 15_000))
      ])
    } catch {
      body = undefined
    }
    if (this.current !== hash) return
    if (body === undefined) {
      setText(this.bodyState, 'No peer could serve the body (it may have left the pool, or no connected peer holds it).')
      return
    }
    const ms = Math.round(performance.now() - started)
    let decoded
    try {
      decoded = decodeTx(body)
    } catch (err) {
      setText(this.bodyState, `The body does not decode: ${(err as Error).message}`)
      return
    }
    setText(this.bodyState, held ? `From this tab’s store (${ms} ms). Signature verified when it was admitted.` : `Fetched and verified in ${ms} ms.`)
    this.bodyView.replaceChildren(
      h('dl', { class: 'lp-fields' },
        h('dt', { text: 'Sender' }), h('dd', {}, h('code', { class: 'lp-hash lp-wrap', text: toHex(decoded.header.sender) })),
        h('dt', { text: 'Signature' }), h('dd', {}, h('code', { class: 'lp-hash lp-wrap', text: toHex(decoded.signature) })),
        h('dt', { text: 'Payload' }), h('dd', { text: `${formatCount(decoded.payload.byteLength)} bytes (public data and proof, opaque to the pool)` })),
      h('pre', { class: 'lp-hexdump', attrs: { 'aria-label': 'First bytes of the payload' } }, hexDump(decoded.payload, 256)))
  }
}
