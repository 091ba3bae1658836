import { createBrowserLightpool, type BrowserLightpool, type BrowserLightpoolInit } from '../node.ts'
import { Dashboard, dashboardCss } from '../ui/dashboard.ts'

/**
 * `<lightpool-dashboard relay="/dns4/…/wss/p2p/…" network="devnet">`: a
 * compact live view of the pool, with its own light node, in a shadow root
 * (styles neither leak in nor out).
 *
 * Attributes (read when the element connects; changing one restarts it):
 * - `relay`    relay multiaddrs, separated by spaces or commas (required)
 * - `network`  default "devnet"
 * - `mode`     "light" (default) or "full"
 * - `rows`     pending txs listed, default 8
 * - `rollups`  projected next rollups drawn, default 6 (capacity: DEFAULT_ROLLUP_CONFIG)
 * - `heading`  the title shown, default "lightpool"
 * - `store`    "memory" to keep nothing in IndexedDB
 * - `insecure` present: allow ws:// and private addresses (local testing)
 *
 * Events: `lightpool:ready` (detail: the node), `lightpool:error` (detail: message).
 */
export class LightpoolDashboardElement extends HTMLElement {
  static readonly observedAttributes = ['relay', 'network', 'mode', 'rows', 'rollups', 'heading', 'store', 'insecure']
  private dashboard: Dashboard | undefined
  private running: BrowserLightpool | undefined
  private starting: Promise<void> | undefined
  private generation = 0

  /** The element's node, once started. */
  get node (): BrowserLightpool | undefined { return this.running }
  get view (): Dashboard | undefined { return this.dashboard }

  connectedCallback (): void {
    // attributes set right after insertion (frameworks do that) are picked up too
    queueMicrotask(() => { if (this.isConnected) this.restart() })
  }

  disconnectedCallback (): void {
    this.generation++
    void this.teardown()
  }

  attributeChangedCallback (_name: string, oldValue: string | null, newValue: string | null): void {
    if (oldValue !== newValue && this.isConnected && this.dashboard !== undefined) this.restart()
  }

  private restart (): void {
    const gen = ++this.generation
    const previous = this.starting ?? Promise.resolve()
    this.starting = previous.then(async () => {
      await this.teardown()
      if (gen !== this.generation) return
      await this.start(gen)
    })
  }

  private async start (gen: number): Promise<void> {
    const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' })
    const rows = Number(this.getAttribute('rows') ?? '8')
    const rollups = Number(this.getAttribute('rollups') ?? '')
    const dashboard = new Dashboard({
      compact: true,
      rows: Number.isFinite(rows) && rows > 0 ? Math.min(50, rows) : 8,
      title: this.getAttribute('heading') ?? 'lightpool',
      // at most 12 blocks: more do not fit a widget
      ...(Number.isSafeInteger(rollups) && rollups > 0 ? { rollups: { rollups: Math.min(12, rollups) } } : {})
    })
    this.dashboard = dashboard
    const style = document.createElement('style')
    style.textContent = `:host { display: block; } :host([hidden]) { display: none; }\n${dashboardCss}`
    root.replaceChildren(style, dashboard.el)
    const relays = (this.getAttribute('relay') ?? '').split(/[\s,]+/).filter(s => s.length > 0)
    if (relays.length === 0) {
      this.fail('no relay: set the relay attribute to a relay multiaddr')
      return
    }
    const mode = this.getAttribute('mode')
    const init: BrowserLightpoolInit = {
      relays,
      network: this.getAttribute('network') ?? 'devnet',
      mode: mode === 'full' ? 'full' : 'light'
    }
    if (this.getAttribute('store') === 'memory') {
      init.store = 'memory'
      init.datastore = 'memory'
    }
    if (this.hasAttribute('insecure')) init.allowInsecure = true
    try {
      const node = await createBrowserLightpool(init)
      if (gen !== this.generation) {
        // a node started for attributes that have since changed: discarded, its stop is best effort
        await node.stop().catch(() => {})
        return
      }
      this.running = node
      dashboard.attach(node)
      this.dispatchEvent(new CustomEvent('lightpool:ready', { detail: node }))
    } catch (err) {
      this.fail((err as Error).message)
    }
  }

  private fail (message: string): void {
    const p = document.createElement('p')
    p.className = 'lp-banner'
    p.setAttribute('role', 'alert')
    p.textContent = `lightpool: ${message}`
    this.dashboard?.el.prepend(p)
    this.dispatchEvent(new CustomEvent('lightpool:error', { detail: message }))
  }

  private async teardown (): Promise<void> {
    const node = this.running
    this.running = undefined
    this.dashboard?.destroy()
    this.dashboard = undefined
    // the element is leaving the page or restarting: a failed stop has nobody left to tell
    await node?.stop().catch(() => {})
  }
}

/** Registers `<lightpool-dashboard>` (once; a second call is a no-op). */
export function defineLightpoolDashboard (name = 'lightpool-dashboard'): void {
  if (customElements.get(name) === undefined) customElements.define(name, class extends LightpoolDashboardElement {})
}
