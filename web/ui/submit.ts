import { buildTx, Ed25519Signer, DEFAULT_TX_LIMITS, NULLIFIER_ENTRY_BYTES, TX_FIXED_BYTES } from '../../src/index.ts'
import { h, setText } from './dom.ts'
import type { ObservedNode } from './types.ts'

/**
 * "Submit a tx": signs a demo tx in the browser (Ed25519, a key made for this
 * page) and publishes it into the network through this tab's node, which
 * validates it, stores it and announces it like any other.
 */
export async function submitDemoTx (node: ObservedNode, signer: Ed25519Signer, opts: { fee: bigint, size: number, ttlMs: number }): Promise<{ hash: string, status: string, rule?: string, message?: string }> {
  const payloadBytes = Math.max(0, Math.min(DEFAULT_TX_LIMITS.maxPayloadBytes, opts.size - TX_FIXED_BYTES - NULLIFIER_ENTRY_BYTES))
  const payload = new Uint8Array(payloadBytes)
  // random content: an all-zero payload would compress and hide the real cost
  for (let off = 0; off < payload.byteLength; off += 65536) crypto.getRandomValues(payload.subarray(off, Math.min(off + 65536, payload.byteLength)))
  const built = await buildTx({
    fee: opts.fee,
    expiresAt: Date.now() + opts.ttlMs,
    nullifierSeeds: [crypto.getRandomValues(new Uint8Array(32))],
    payload
  }, signer)
  const r = await node.submitTx(built.bytes)
  return r.status === 'added' ? { hash: built.hash, status: 'added' } : { hash: built.hash, status: r.status, rule: r.rule, message: r.message }
}

export class SubmitForm {
  readonly el: HTMLElement
  private readonly result: HTMLElement
  private readonly node: () => ObservedNode | undefined
  private signer: Ed25519Signer | undefined

  constructor (node: () => ObservedNode | undefined, onSubmitted: (hash: string) => void) {
    this.node = node
    const fee = h('input', { attrs: { type: 'number', min: '1', step: '1', value: '1000', name: 'fee', inputmode: 'numeric' } })
    const size = h('input', { attrs: { type: 'number', min: '200', max: String(DEFAULT_TX_LIMITS.maxPayloadBytes), step: '100', value: '40000', name: 'size', inputmode: 'numeric' } })
    const ttl = h('input', { attrs: { type: 'number', min: '1', max: '1440', step: '1', value: '10', name: 'ttl', inputmode: 'numeric' } })
    this.result = h('p', { class: 'lp-submit-result', attrs: { role: 'status' } })
    const button = h('button', { class: 'lp-button lp-primary', text: 'Sign & submit', attrs: { type: 'submit' } })
    const form = h('form', { class: 'lp-form' },
      h('label', {}, h('span', { text: 'Fee' }), fee),
      h('label', {}, h('span', { text: 'Size (bytes)' }), size),
      h('label', {}, h('span', { text: 'Expires in (min)' }), ttl),
      button)
    form.addEventListener('submit', (ev) => {
      ev.preventDefault()
      const n = this.node()
      if (n === undefined) return
      button.disabled = true
      setText(this.result, 'Signing and publishing…')
      this.signer ??= Ed25519Signer.generate()
      void submitDemoTx(n, this.signer, {
        fee: BigInt(Math.max(1, Math.floor(Number(fee.value) || 1))),
        size: Math.floor(Number(size.value) || 40000),
        ttlMs: Math.max(1, Number(ttl.value) || 10) * 60_000
      }).then((r) => {
        if (r.status === 'added') {
          setText(this.result, `Added ${r.hash}`)
          onSubmitted(r.hash)
        } else {
          setText(this.result, `Not admitted (${r.status}): ${r.rule ?? ''} ${r.message ?? ''}`)
        }
      }, (err: Error) => {
        setText(this.result, `Failed: ${err.message}`)
      }).finally(() => { button.disabled = false })
    })
    const id = `lp-submit-${Math.random().toString(36).slice(2, 8)}`
    this.el = h('section', { class: 'lp-card lp-submit', attrs: { 'aria-labelledby': id } },
      h('h2', { class: 'lp-card-title', text: 'Submit a transaction', attrs: { id } }),
      h('p', { class: 'lp-muted lp-small', text: 'Signed in this tab with a fresh Ed25519 key, then published to the network.' }),
      form, this.result)
  }
}
