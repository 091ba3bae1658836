import { decodeTx, toHex, type PoolEntry, type TimelineStep, type TxTimeline } from '../../src/index.ts'
import { h, setText } from './dom.ts'
import { formatBytes, formatCount, formatDuration, formatFee, formatTime, hexDump } from './format.ts'
import type { ObservedNode } from './types.ts'

/**
 * The page of one tx (`#/tx/<hash>` on the observer page): its metadata, its
 * status over time from this tab's pool events (pending → replaced /
 * evicted / expired / mined, with the reason and the tx that caused it), the
 * txs it conflicts with, and its body — from this tab's store if it holds
 * it, else fetched on demand from a peer that announced it, verified before
 * it is shown, offered as a download.
 *
 * A modal dialog: focus moves into it and back, Escape closes it, and the
 * rest of the page is inert while it is open.
 */

/** How long to wait for a body from peers before saying none came. */
const BODY_FETCH_TIMEOUT_MS = 15_000

const STATUS_TEXT: Record<TimelineStep['status'], string> = {
  pending: 'waiting to be included in a rollup',
  replaced: 'replaced: a tx spending the same nullifier paid enough more',
  evicted: 'evicted: the pool was full and a better-paying tx needed the room',
  expired: 'expired before it was included',
  mined: 'mined: included in a rollup',
  conflict: 'dropped: it spends a nullifier a mined tx spent',
  invalid: 'dropped: its body turned out invalid',
  'store-failed': 'dropped: this tab could not store it',
  removed: 'removed by its owner'
}

export class TxDetail {
  readonly el: HTMLDialogElement
  private readonly title: HTMLElement
  private readonly status: HTMLElement
  private readonly fields: HTMLElement
  private readonly conflicts: HTMLElement
  private readonly steps: HTMLOListElement
  private readonly bodyState: HTMLElement
  private readonly download: HTMLAnchorElement
  private readonly bodyView: HTMLElement
  private readonly node: () => ObservedNode | undefined
  private readonly timeline: () => TxTimeline | undefined
  private readonly navigate: (hash: string) => void
  private current: string | undefined
  private downloadUrl: string | undefined
  private ticker: ReturnType<typeof setInterval> | undefined
  private unwatch: (() => void) | undefined
  /** What the fields, steps and conflicts were last built from. */
  private structure: string | undefined
  /** Updates the ages shown in the fields. */
  private clock: Array<(now: number) => void> = []

  constructor (opts: { node: () => ObservedNode | undefined, timeline: () => TxTimeline | undefined, navigate: (hash: string) => void, onClose?: () => void }) {
    this.node = opts.node
    this.timeline = opts.timeline
    this.navigate = opts.navigate
    this.title = h('h2', { class: 'lp-dialog-title', attrs: { id: 'lp-detail-title' } })
    this.status = h('p', { class: 'lp-tx-status', attrs: { role: 'status', 'aria-live': 'polite' } })
    this.fields = h('dl', { class: 'lp-fields' })
    this.conflicts = h('div', { class: 'lp-conflicts' })
    this.steps = h('ol', { class: 'lp-steps', attrs: { 'aria-label': 'Status over time' } })
    this.bodyState = h('p', { class: 'lp-body-state', attrs: { role: 'status' } })
    this.download = h('a', { class: 'lp-button lp-download', attrs: { hidden: '' } })
    this.bodyView = h('div', { class: 'lp-body-view' })
    const close = h('button', { class: 'lp-button lp-close', text: 'Close', attrs: { type: 'button' }, on: { click: () => { this.el.close() } } })
    this.el = h('dialog', { class: 'lp-dialog lp-txpage', attrs: { 'aria-labelledby': 'lp-detail-title' } },
      h('div', { class: 'lp-dialog-head' }, this.title, close),
      this.status,
      this.fields,
      h('h3', { class: 'lp-subtitle', text: 'Status over time' }), this.steps,
      h('h3', { class: 'lp-subtitle', text: 'Conflicts' }), this.conflicts,
      h('h3', { class: 'lp-subtitle', text: 'Body' }),
      this.bodyState,
      this.download,
      this.bodyView)
    this.el.addEventListener('click', (ev) => {
      if (ev.target === this.el) { this.el.close(); return }
      const hash = (ev.target as Element).closest<HTMLElement>('[data-goto]')?.dataset.goto
      if (hash !== undefined) this.navigate(hash)
    })
    this.el.addEventListener('close', () => {
      this.current = undefined
      this.stopWatching()
      this.revokeDownload()
      opts.onClose?.()
    })
  }

  /** The hash shown now, if the page is open. */
  get shown (): string | undefined { return this.current }

  open (hash: string): void {
    const node = this.node()
    if (node === undefined) return
    this.stopWatching()
    this.revokeDownload()
    this.current = hash
    this.structure = undefined
    setText(this.title, 'Transaction')
    this.render(hash)
    this.bodyView.replaceChildren()
    if (!this.el.open) this.el.showModal()
    // the age and the status move on while the page is open
    this.ticker = setInterval(() => { if (this.current === hash) this.render(hash) }, 1000)
    this.unwatch = this.timeline()?.events.on('change', (ev) => { if (ev.hash === hash) this.render(hash) })
    const tx = node.pool.get(hash)
    this.download.hidden = true
    if (tx !== undefined) {
      void this.loadBody(node, hash, tx.hasBody)
      return
    }
    if (this.timeline()?.get(hash) !== undefined) {
      setText(this.bodyState, 'The tx is no longer pending and this tab does not hold its body: no peer serves it now.')
      return
    }
    // a deep link opened before the tab has synced, or a tx not yet announced: wait for it
    setText(this.bodyState, 'Not in this tab’s pool (yet): waiting for the tx to be announced…')
    const stopWaiting = node.pool.events.on('added', ({ tx: added }) => {
      if (added.hash !== hash || this.current !== hash) return
      stopWaiting()
      this.render(hash)
      void this.loadBody(node, hash, added.hasBody)
    })
    const unwatch = this.unwatch
    this.unwatch = () => { unwatch?.(); stopWaiting() }
  }

  close (): void {
    if (this.el.open) this.el.close()
  }

  private render (hash: string): void {
    const node = this.node()
    if (node === undefined) return
    const record = this.timeline()?.get(hash)
    const tx: PoolEntry | undefined = node.pool.get(hash) ?? record?.tx
    const last = record?.steps.at(-1)
    const status = last?.status ?? (tx === undefined ? undefined : 'pending')
    this.status.dataset.status = status ?? 'unknown'
    setText(this.status, status === undefined
      ? 'Unknown to this tab: it never saw this tx, or has forgotten it.'
      : `${status === 'pending' ? 'Pending' : 'No longer pending'} · ${STATUS_TEXT[status]}`)
    const steps = record?.steps ?? []
    // The fields, steps and conflicts are rebuilt only when what they show changed: the
    // page re-renders every second for the ages, and rebuilding would take the focus
    // from a link a keyboard user has just moved to.
    const structure = JSON.stringify([hash,
      tx === undefined ? null : [tx.fee.toString(), tx.size, tx.receivedAt, tx.expiresAt, tx.nullifiers],
      steps.map(s => [s.status, s.at, s.by ?? null]), record?.replaced ?? [], record?.evicted ?? []])
    if (structure !== this.structure) {
      this.structure = structure
      this.build(hash, tx, steps, record?.replaced ?? [], record?.evicted ?? [])
    }
    const now = Date.now()
    for (const tick of this.clock) tick(now)
  }

  /** Builds the fields, steps and conflicts; the clock keeps the ages in them current. */
  private build (hash: string, tx: PoolEntry | undefined, steps: readonly TimelineStep[], replaced: readonly string[], evicted: readonly string[]): void {
    this.clock = []
    const ticking = (text: (now: number) => string): HTMLElement => {
      const el = h('span')
      this.clock.push(now => { setText(el, text(now)) })
      return el
    }
    const rows: Array<[string, string | Node]> = [['Hash', h('code', { class: 'lp-hash lp-wrap', text: hash })]]
    if (tx !== undefined) {
      rows.push(
        ['Fee', formatFee(tx.fee)],
        ['Size', `${formatBytes(tx.size)} (${formatCount(tx.size)} bytes)`],
        ['Received', ticking(now => `${new Date(tx.receivedAt).toLocaleString()} · ${formatDuration(now - tx.receivedAt)} ago`)],
        ['Expires', ticking(now => `${new Date(tx.expiresAt).toLocaleString()} · ${tx.expiresAt > now ? `in ${formatDuration(tx.expiresAt - now)}` : `${formatDuration(now - tx.expiresAt)} ago`}`)],
        ['Nullifiers', h('div', {}, ...tx.nullifiers.map(n => h('code', { class: 'lp-hash lp-wrap lp-block', text: n })))]
      )
    }
    this.fields.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]))
    this.steps.replaceChildren(...steps.map(s => h('li', { class: 'lp-step', attrs: { 'data-status': s.status } },
      h('time', { text: formatTime(s.at), attrs: { datetime: new Date(s.at).toISOString() } }),
      h('span', { class: 'lp-badge', text: s.status }),
      s.by === undefined ? null : h('span', {}, 'by ', this.link(s.by)))))
    const links: HTMLElement[] = []
    for (const s of steps) if (s.by !== undefined && s.status === 'replaced') links.push(h('li', {}, 'Replaced by ', this.link(s.by)))
    for (const r of replaced) links.push(h('li', {}, 'Replaced ', this.link(r), ' (same nullifier, lower fee)'))
    for (const r of evicted) links.push(h('li', {}, 'Pushed out ', this.link(r), ' (pool full)'))
    this.conflicts.replaceChildren(links.length === 0
      ? h('p', { class: 'lp-muted', text: 'None seen: no pending tx shares a nullifier with it, and it replaced none.' })
      : h('ul', { class: 'lp-conflict-list' }, ...links))
  }

  /** A hash that opens its own tx page: a real link, so it can be opened, copied and followed by keyboard. */
  private link (hash: string): HTMLElement {
    return h('a', { class: 'lp-hash lp-tx-link', text: hash, attrs: { href: `#/tx/${hash}`, 'data-goto': hash } })
  }

  private async loadBody (node: ObservedNode, hash: string, held: boolean): Promise<void> {
    setText(this.bodyState, held ? 'Reading the body from this tab’s store…' : 'Fetching the body from a peer that announced it…')
    this.download.hidden = true
    const started = performance.now()
    let body: Uint8Array | undefined
    try {
      body = await Promise.race([
        node.getTx(hash),
        new Promise<undefined>(resolve => setTimeout(() => { resolve(undefined) }, BODY_FETCH_TIMEOUT_MS))
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
    this.revokeDownload()
    this.downloadUrl = URL.createObjectURL(new Blob([body as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }))
    this.download.href = this.downloadUrl
    this.download.download = `${hash}.tx`
    setText(this.download, `Download the body (${formatBytes(body.byteLength)}, ${formatCount(body.byteLength)} bytes)`)
    this.download.hidden = false
    this.bodyView.replaceChildren(
      h('dl', { class: 'lp-fields' },
        h('dt', { text: 'Sender' }), h('dd', {}, h('code', { class: 'lp-hash lp-wrap', text: toHex(decoded.header.sender) })),
        h('dt', { text: 'Signature' }), h('dd', {}, h('code', { class: 'lp-hash lp-wrap', text: toHex(decoded.signature) })),
        h('dt', { text: 'Payload' }), h('dd', { text: `${formatCount(decoded.payload.byteLength)} bytes (public data and proof, opaque to the pool)` })),
      h('pre', { class: 'lp-hexdump', attrs: { 'aria-label': 'First bytes of the payload' } }, hexDump(decoded.payload, 256)))
  }

  private stopWatching (): void {
    if (this.ticker !== undefined) clearInterval(this.ticker)
    this.ticker = undefined
    this.unwatch?.()
    this.unwatch = undefined
  }

  private revokeDownload (): void {
    if (this.downloadUrl !== undefined) URL.revokeObjectURL(this.downloadUrl)
    this.downloadUrl = undefined
  }
}
