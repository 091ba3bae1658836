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
 *    does: it serves this page at /);
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

async function fetchWithTimeout (url: URL, init: RequestInit, ms: number): Promise<Response | undefined> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(ms) })
  } catch {
    return undefined
  }
}

async function fromConfigJson (base: string): Promise<Omit<PageConfig, 'source'> | undefined> {
  const res = await fetchWithTimeout(new URL('config.json', base), { cache: 'no-store' }, 3000)
  if (res?.ok !== true) return undefined
  try {
    const json = await res.json() as { relays?: unknown, network?: unknown, mode?: unknown }
    const relays = validRelays(json.relays)
    if (relays.length === 0) return undefined
    return { relays, network: typeof json.network === 'string' ? json.network : DEFAULT_NETWORK, mode: parseMode(json.mode) ?? 'light' }
  } catch {
    return undefined
  }
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

async function fromServingNode (loc: Location): Promise<Omit<PageConfig, 'source'> | undefined> {
  if (loc.protocol !== 'http:' && loc.protocol !== 'https:') return undefined
  const res = await fetchWithTimeout(new URL('/rpc', loc.origin), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'p2p_getInfo', params: [] })
  }, 3000)
  if (res?.ok !== true) return undefined
  try {
    const body = await res.json() as { result?: { peerId?: unknown, multiaddrs?: unknown, network?: unknown } }
    const info = body.result
    if (typeof info?.peerId !== 'string' || !Array.isArray(info.multiaddrs)) return undefined
    const relays = validRelays(relayAddrsFromNode({ peerId: info.peerId, multiaddrs: info.multiaddrs.filter((a): a is string => typeof a === 'string') }, loc.hostname))
    if (relays.length === 0) return undefined
    return { relays, network: typeof info.network === 'string' ? info.network : DEFAULT_NETWORK, mode: 'light' }
  } catch {
    return undefined
  }
}

export async function resolvePageConfig (loc: Location = location): Promise<PageConfig | undefined> {
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
  // both are quick, and usually only one answers
  const [json, node] = await Promise.all([fromConfigJson(loc.href), fromServingNode(loc)])
  if (json !== undefined) return finish(json, 'config.json')
  if (node !== undefined) return finish(node, 'node')
  const saved = await loadSettings()
  if (saved !== undefined && saved.relays.length > 0) return finish(saved, 'saved')
  return undefined
}
