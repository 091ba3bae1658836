import { isPrivate } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { ConnectionGater } from '@libp2p/interface'

/**
 * Which addresses a browser tab may dial.
 *
 * libp2p's browser default refuses plain `ws://` and private/loopback
 * addresses: an https page cannot open ws:// anyway (mixed content), and a
 * public page probing a visitor's LAN is a bad citizen. lightpool keeps that
 * default and relaxes it only in two cases:
 *
 * 1. `allowInsecure: true` — tests, and pages that know what they do:
 *    every address is allowed.
 * 2. Automatically, when the page itself was loaded over plain http from
 *    host H and a configured relay is on H (a node serving its own observer
 *    page on a LAN or on localhost): addresses whose *first* host is H — the
 *    relay's own, and circuit addresses through it — may use ws:// and
 *    private IPs. The page already came over that same insecure path from
 *    that same host, so this exposes nothing new. Any other private or
 *    ws:// address stays refused. (localhost, 127.0.0.1 and ::1 count as one
 *    host.)
 *
 * `allowInsecure: false` forces the libp2p default even in case 2.
 */
export type InsecureRule =
  | { kind: 'default' }
  | { kind: 'all' }
  | { kind: 'same-host', host: string }

export interface PageLocation { protocol: string, hostname: string }

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]'])

function normalHost (host: string): string {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  return LOOPBACK.has(h) || h.startsWith('127.') ? 'loopback' : h
}

/** The first ip4/ip6/dns host of an address: for a circuit address, its relay's. */
export function firstHost (ma: Multiaddr): string | undefined {
  for (const c of ma.getComponents()) {
    if (c.name === 'ip4' || c.name === 'ip6' || c.name === 'dns' || c.name === 'dns4' || c.name === 'dns6' || c.name === 'dnsaddr') return c.value
  }
  return undefined
}

export function insecureRule (allowInsecure: boolean | undefined, relays: string[], page: PageLocation | undefined = globalThis.location): InsecureRule {
  if (allowInsecure === true) return { kind: 'all' }
  if (allowInsecure === false || page === undefined || page.protocol !== 'http:') return { kind: 'default' }
  const pageHost = normalHost(page.hostname)
  for (const r of relays) {
    let host: string | undefined
    try { host = firstHost(multiaddr(r)) } catch { continue }
    if (host !== undefined && normalHost(host) === pageHost) return { kind: 'same-host', host: pageHost }
  }
  return { kind: 'default' }
}

function insecureWebSocket (ma: Multiaddr): boolean {
  const parts = ma.getComponents()
  return parts.some((c, i) => c.name === 'ws' && parts[i - 1]?.name !== 'tls')
}

/** libp2p's browser rule: no ws://, no private addresses. */
function defaultDeny (ma: Multiaddr): boolean {
  return insecureWebSocket(ma) || isPrivate(ma)
}

/**
 * The gater for a rule. For "default" it returns an empty gater, which makes
 * libp2p install its own browser default.
 */
export function browserGater (rule: InsecureRule): ConnectionGater {
  if (rule.kind === 'default') return {}
  if (rule.kind === 'all') return { denyDialMultiaddr: () => false }
  return {
    denyDialMultiaddr: (ma) => {
      const host = firstHost(ma)
      if (host !== undefined && normalHost(host) === rule.host) return false
      return defaultDeny(ma)
    }
  }
}
