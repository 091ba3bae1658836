import type { NodeMode } from '../src/index.ts'
import { firstHost } from './gater.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { loadSettings } from './store/settings.ts'

/**
 * Where the observer page finds its relays, first match wins:
 *
 * 1. the URL: `?relay=<multiaddr>` (repeat it, or separate with commas, for
 *    several), `&network=<name>`, `&mode=full`, `&insecure=1`;
 * 2. a `config.json` beside index.html: `{ "relays": [...], "network": "…",
 *    "mode": "light" }` — for the page hosted as a static site anywhere;
 * 3. the node that served the page: `POST /rpc p2p_getInfo` on the same
 *    origin, whose WebSocket multiaddrs are the relay (what `lightpool node`
 *    does: it serves this page at /). While that node does not answer
 *    (timeout, network error, 5xx, 429), the page keeps asking with backoff
 *    (`DEFAULT_DISCOVERY_CONFIG`) and says so through `onWaiting`;
 * 4. the settings this browser saved the last time it connected.
 *
 * A `network` in the URL applies whichever source gives the relays.
 */
export type ConfigSource = 'query' | 'config.json' | 'node' | 'saved'

export interface PageConfig {
  relays: string[]
  network: string
  mode: NodeMode
  allowInsecure?: boolean
  source: ConfigSource
}

const DEFAULT_NETWORK = 'devnet'

function splitList (values: string[]): string[] {
  return values.flatMap(v => v.split(/[\s,]+/)).map(s => s.trim()).filter(s => s.length > 0)
}

function validRelays (list: unknown): string[] {
  if (!Array.isArray(list)) return []
  return list.filter((s): s is string => {
    if (typeof s !== 'string') return false
    try {
      return multiaddr(s).getComponents().some(c => c.name === 'p2p')
    } catch {
      return false
    }
  })
}

function parseMode (v: unknown): NodeMode | undefined {
  return v === 'full' || v === 'light' ? v : undefined
}

/**
 * The page's config.json: the relays it names, nothing (none there: a 404,
 * or not a lightpool config), or not reachable now (timed out, a network
 * error, a status worth retrying), which is asked again like the node.
 */
async function fromConfigJson (base: string, timeoutMs: number): Promise<NodeAnswer> {
  let res: Response
  try {
    res = await fetch(new URL('config.json', base), { cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    return { kind: 'unreachable', reason: unreachableReason(err, timeoutMs) }
  }
  if (RETRY_STATUSES.has(res.status)) return { kind: 'unreachable', reason: `HTTP ${res.status}` }
  if (!res.ok) return { kind: 'none' }
  try {
    const json = await res.json() as { relays?: unknown, network?: unknown, mode?: unknown }
    const relays = validRelays(json.relays)
    if (relays.length === 0) return { kind: 'none' }
    return { kind: 'found', config: { relays, network: typeof json.network === 'string' ? json.network : DEFAULT_NETWORK, mode: parseMode(json.mode) ?? 'light' } }
  } catch {
    return { kind: 'none' }
  }
}

function unreachableReason (err: unknown, timeoutMs: number): string {
  const name = (err as Error).name
  return name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${Math.round(timeoutMs / 1000)} s` : 'network error'
}

/**
 * The relay addresses a node reports, best first for this page: WebSocket
 * ones, those on the page's own host first. If none is on the page's host
 * (the page came through a DNS name the node does not announce), the same
 * port on the page's host is tried first.
 */
export function relayAddrsFromNode (info: { peerId: string, multiaddrs: string[] }, pageHost: string): string[] {
  const ws = info.multiaddrs
    .filter(a => /\/(ws|wss|tls\/ws)(\/|$)/.test(a))
    .map(a => a.includes('/p2p/') ? a : `${a}/p2p/${info.peerId}`)
  const onHost = (a: string): boolean => {
    try { return firstHost(multiaddr(a)) === pageHost } catch { return false }
  }
  const same = ws.filter(onHost)
  const others = ws.filter(a => !onHost(a))
  if (same.length === 0 && ws.length > 0 && pageHost !== '') {
    const m = /\/tcp\/(\d+)\/(wss|tls\/ws|ws)(\/|$)/.exec(ws[0]!)
    const proto = /^\d+\.\d+\.\d+\.\d+$/.test(pageHost) ? 'ip4' : pageHost.includes(':') ? 'ip6' : 'dns'
    if (m !== null) same.push(`/${proto}/${pageHost}/tcp/${m[1]}/${m[2]}/p2p/${info.peerId}`)
  }
  return [...same, ...others]
}

/**
 * How the page asks the node that served it for its relay, and how it keeps
 * asking while that node is busy or restarting. Measured (issue 15): with
 * 20–24 tabs opening at once, 1–4 of them had their single 3 s request
 * aborted while the node served the others, and fell back to the setup form.
 */
export interface DiscoveryConfig {
  /** Timeout of the first request, in ms. Default 3 000: an idle node answers in a few ms. */
  firstTimeoutMs: number
  /** Each retry doubles the timeout up to this, in ms: a busy node gets longer to answer. Default 15 000. */
  maxTimeoutMs: number
  /** Wait before the first retry, in ms; doubles each time. Default 1 000. */
  retryBaseMs: number
  /** Longest wait between two tries, in ms. Default 10 000. */
  retryMaxMs: number
  /** ± this fraction of random spread on each wait, so tabs that failed together do not retry together. Default 0.2. */
  jitter: number
}

const DEFAULT_DISCOVERY_CONFIG: Readonly<DiscoveryConfig> = Object.freeze({
  firstTimeoutMs: 3000,
  maxTimeoutMs: 15_000,
  retryBaseMs: 1000,
  retryMaxMs: 10_000,
  jitter: 0.2
})

/** What the page is doing while its node does not answer (for the "connecting to …" status). */
export interface DiscoveryWait {
  /** Where the page is asking: its origin. */
  target: string
  /** Tries that failed so far. */
  attempt: number
  /** Why the last one failed: "timed out after 3 s", "HTTP 503", "network error". */
  reason: string
  /** When the next try starts (unix ms). */
  retryAt: number
}

/** The serving node's answer: relays, nothing to ask (not a lightpool node), or not reachable yet. */
type NodeAnswer =
  | { kind: 'found', config: Omit<PageConfig, 'source'> }
  | { kind: 'none' }
  | { kind: 'unreachable', reason: string }

/**
 * HTTP statuses that say "a server is there but cannot answer now": worth
 * retrying. Anything else that is not a lightpool answer (404, 405, HTML,
 * JSON without a result) means there is no node to ask.
 */
const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504])

async function askServingNode (loc: Location, timeoutMs: number): Promise<NodeAnswer> {
  if (loc.protocol !== 'http:' && loc.protocol !== 'https:') return { kind: 'none' }
  let res: Response
  try {
    res = await fetch(new URL('/rpc', loc.origin), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'p2p_getInfo', params: [] }),
      signal: AbortSignal.timeout(timeoutMs)
    })
  } catch (err) {
    return { kind: 'unreachable', reason: unreachableReason(err, timeoutMs) }
  }
  if (RETRY_STATUSES.has(res.status)) return { kind: 'unreachable', reason: `HTTP ${res.status}` }
  if (!res.ok) return { kind: 'none' }
  try {
    const body = await res.json() as { result?: { peerId?: unknown, multiaddrs?: unknown, network?: unknown }, error?: { code?: unknown } }
    // rate limited (-32005) or timed out (-32007) inside a 200: the node is there, busy
    if (body.error?.code === -32005 || body.error?.code === -32007) return { kind: 'unreachable', reason: `busy (${String(body.error.code)})` }
    const info = body.result
    if (typeof info?.peerId !== 'string' || !Array.isArray(info.multiaddrs)) return { kind: 'none' }
    const relays = validRelays(relayAddrsFromNode({ peerId: info.peerId, multiaddrs: info.multiaddrs.filter((a): a is string => typeof a === 'string') }, loc.hostname))
    if (relays.length === 0) return { kind: 'none' }
    return { kind: 'found', config: { relays, network: typeof info.network === 'string' ? info.network : DEFAULT_NETWORK, mode: 'light' } }
  } catch {
    return { kind: 'none' }
  }
}

/** The wait before try `attempt + 1` (attempt ≥ 1), with jitter. */
function retryDelay (attempt: number, config: Readonly<DiscoveryConfig> = DEFAULT_DISCOVERY_CONFIG, random: () => number = Math.random): number {
  const base = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** (attempt - 1))
  return Math.round(base * (1 + config.jitter * (2 * random() - 1)))
}

export interface ResolveOptions {
  /** Called before each wait while the serving node does not answer. */
  onWaiting?: (wait: DiscoveryWait) => void
  discovery?: Partial<DiscoveryConfig>
  signal?: AbortSignal
}

export async function resolvePageConfig (loc: Location = location, opts: ResolveOptions = {}): Promise<PageConfig | undefined> {
  const discovery = { ...DEFAULT_DISCOVERY_CONFIG, ...opts.discovery }
  const q = new URLSearchParams(loc.search)
  const qRelays = validRelays(splitList(q.getAll('relay')))
  const qNetwork = q.get('network') ?? undefined
  const qMode = parseMode(q.get('mode'))
  const insecure = q.get('insecure')
  const allowInsecure = insecure === null ? undefined : insecure === '1' || insecure === 'true'
  const finish = (c: Omit<PageConfig, 'source'>, source: ConfigSource): PageConfig => {
    const out: PageConfig = { relays: c.relays, network: qNetwork ?? c.network, mode: qMode ?? c.mode, source }
    if (allowInsecure !== undefined) out.allowInsecure = allowInsecure
    return out
  }
  if (qRelays.length > 0) return finish({ relays: qRelays, network: DEFAULT_NETWORK, mode: 'light' }, 'query')
  // both are quick, and usually only one answers; config.json wins when both do
  let timeoutMs = discovery.firstTimeoutMs
  const ask = async (): Promise<{ answer: NodeAnswer, source: ConfigSource }> => {
    const [json, node] = await Promise.all([fromConfigJson(loc.href, timeoutMs), askServingNode(loc, timeoutMs)])
    if (json.kind === 'found') return { answer: json, source: 'config.json' }
    if (node.kind === 'found') return { answer: node, source: 'node' }
    // either may come back: a busy node, a static host that timed out
    if (json.kind === 'unreachable' || node.kind === 'unreachable') return { answer: node.kind === 'unreachable' ? node : json, source: 'node' }
    return { answer: { kind: 'none' }, source: 'node' }
  }
  let { answer, source } = await ask()
  // the page has something to ask that does not answer yet: keep asking (the
  // setup form is only for a page with nothing behind it)
  for (let attempt = 1; answer.kind === 'unreachable'; attempt++) {
    const delay = retryDelay(attempt, discovery)
    opts.onWaiting?.({ target: loc.origin, attempt, reason: answer.reason, retryAt: Date.now() + delay })
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delay)
      opts.signal?.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
    })
    if (opts.signal?.aborted === true) return undefined
    timeoutMs = Math.min(discovery.maxTimeoutMs, timeoutMs * 2);
    ({ answer, source } = await ask())
  }
  if (answer.kind === 'found') return finish(answer.config, source)
  const saved = await loadSettings()
  if (saved !== undefined && saved.relays.length > 0) return finish(saved, 'saved')
  return undefined
}
