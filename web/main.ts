/**
 * The pool observer page: a light node in this tab, and the dashboard on it.
 * Order matters for a reload: the pool is read from IndexedDB and shown
 * first; relays are dialled in the background.
 */
import { resolvePageConfig, type DiscoveryWait, type PageConfig } from './config.ts'
import { createBrowserLightpool, type BrowserLightpool } from './node.ts'
import { saveSettings } from './store/settings.ts'
import { Dashboard, dashboardCss, type RenderStats } from './ui/dashboard.ts'
import { h } from './ui/dom.ts'

declare global {
  interface Window {
    /** For the curious and for tests: the running node and the dashboard's render timings. */
    lightpoolObserver?: { node?: BrowserLightpool, config?: PageConfig, dashboard: Dashboard, perf: () => RenderStats, error?: string, waiting?: DiscoveryWait }
  }
}

const style = document.createElement('style')
style.textContent = dashboardCss
document.head.append(style)

const app = document.getElementById('app')!

function setupForm (): HTMLElement {
  const relay = h('input', { attrs: { name: 'relay', required: '', placeholder: '/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooW…', spellcheck: 'false' } })
  const network = h('input', { attrs: { name: 'network', value: 'devnet', spellcheck: 'false' } })
  const form = h('form', { class: 'lp-form', attrs: { method: 'get', action: '' } },
    h('label', {}, h('span', { text: 'Relay multiaddr (WebSocket, ending in /p2p/<peer id>)' }), relay),
    h('label', {}, h('span', { text: 'Network' }), network),
    h('button', { class: 'lp-button lp-primary', text: 'Connect', attrs: { type: 'submit' } }))
  return h('div', { class: 'lp-dashboard' },
    h('div', { class: 'lp-page-setup lp-card' },
      h('h1', { class: 'lp-title', text: 'lightpool observer' }),
      h('p', { class: 'lp-muted', text: 'No relay is configured for this page. Point it at a lightpool node that relays for browsers (or add ?relay=… to the URL, or a config.json beside this page).' }),
      form))
}

/** While the node that served the page does not answer: what the page is doing, instead of a setup form it does not need. */
function connectingView (): { el: HTMLElement, update: (w: DiscoveryWait) => void } {
  const text = h('p', { class: 'lp-connecting-text', text: `Connecting to ${location.origin}…` })
  const detail = h('p', { class: 'lp-muted lp-connecting-detail' })
  const el = h('div', { class: 'lp-dashboard' },
    h('div', { class: 'lp-page-setup lp-card lp-connecting', attrs: { role: 'status', 'aria-live': 'polite' } },
      h('h1', { class: 'lp-title', text: 'lightpool observer' }), text, detail))
  let timer: ReturnType<typeof setInterval> | undefined
  return {
    el,
    update: (w) => {
      text.textContent = `Connecting to ${w.target}…`
      const tick = (): void => {
        // the dashboard replaced this view: stop counting down
        if (!el.isConnected && timer !== undefined) { clearInterval(timer); return }
        const s = Math.max(0, Math.ceil((w.retryAt - Date.now()) / 1000))
        detail.textContent = `The node that served this page has not answered yet (${w.reason}; ${w.attempt} ${w.attempt === 1 ? 'try' : 'tries'}). Trying again ${s > 0 ? `in ${s} s` : 'now'}.`
      }
      tick()
      if (timer !== undefined) clearInterval(timer)
      timer = setInterval(tick, 1000)
    }
  }
}

async function main (): Promise<void> {
  const dashboard = new Dashboard({ title: 'lightpool' })
  window.lightpoolObserver = { dashboard, perf: () => dashboard.perf() }
  let connecting: ReturnType<typeof connectingView> | undefined
  const config = await resolvePageConfig(location, {
    onWaiting: (wait) => {
      if (connecting === undefined) {
        connecting = connectingView()
        app.replaceChildren(connecting.el)
      }
      connecting.update(wait)
      window.lightpoolObserver!.waiting = wait
    }
  })
  if (config === undefined) {
    app.replaceChildren(setupForm())
    return
  }
  window.lightpoolObserver.config = config
  app.replaceChildren(dashboard.el, h('footer', { class: 'lp-footer' },
    `Light node in this tab · relays from ${config.source} · pool kept in IndexedDB across reloads`))
  try {
    const init: Parameters<typeof createBrowserLightpool>[0] = { relays: config.relays, network: config.network, mode: config.mode }
    if (config.allowInsecure !== undefined) init.allowInsecure = config.allowInsecure
    const node = await createBrowserLightpool(init)
    window.lightpoolObserver.node = node
    dashboard.attach(node)
    // saved settings only spare the next visit the discovery: a failed save costs nothing now
    if (config.source !== 'saved') void saveSettings({ relays: config.relays, network: config.network, mode: config.mode }).catch(() => {})
    // leave the relay cleanly (frees the reservation at once); IndexedDB writes are already
    // durable, so a stop that fails as the page goes loses nothing
    addEventListener('pagehide', () => { void node.stop().catch(() => {}) })
  } catch (err) {
    const message = (err as Error).message
    window.lightpoolObserver.error = message
    app.prepend(h('p', { class: 'lp-banner lp-dashboard', attrs: { role: 'alert' }, text: `Could not start the light node: ${message}` }))
  }
}

void main()
