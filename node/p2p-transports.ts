import https from 'node:https'
import net from 'node:net'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import type { Listener } from '@libp2p/interface'
import { addressKey, type InboundGateStats, type InboundLimitsConfig } from './p2p-limits.ts'
import type { TlsSource } from './tls.ts'

/**
 * The node's TCP transport. Every accepted socket goes straight into the
 * libp2p handshake, where the connection gater's per-address caps and the
 * upgrade timeout bound it, so it needs nothing beyond libp2p's defaults
 * (which include a 2-minute inactivity timeout for the socket's whole life:
 * shorter would cut idle-but-healthy connections between liveness pings).
 */
export function limitedTcp (): ReturnType<typeof tcp> {
  return tcp()
}

/**
 * The node's WebSocket transport, with what @libp2p/websockets 10 leaves
 * out: its listener waits for a socket's first byte with no timeout at all
 * (measured: 200 sockets that never sent a byte stayed open for the whole
 * test), and it counts no sockets per address. So every accepted socket gets
 * an idle timeout (which the `ws` library clears once the HTTP upgrade is
 * done; libp2p's upgrade timeout takes over from there), the HTTP request
 * must be complete within the upgrade timeout, and one address may hold at
 * most `maxConnectionsPerAddress` sockets.
 *
 * The listener's `server` (a `net.Server`) is not public API: if an upgrade
 * renames it, `createListener` throws at start, loudly, and
 * test/reliability/hostile-sockets.test.ts names what broke.
 */
export function limitedWebSockets (limits: Pick<InboundLimitsConfig, 'socketIdleTimeoutMs' | 'upgradeTimeoutMs' | 'maxConnectionsPerAddress'>, tls?: TlsSource, stats: Pick<InboundGateStats, 'refusedSockets'> = { refusedSockets: 0 }): ReturnType<typeof webSockets> {
  const http = { headersTimeout: limits.upgradeTimeoutMs, requestTimeout: limits.upgradeTimeoutMs }
  // the listener takes `https` instead of `http` for a /tls/ws address, so the timeouts go in both;
  // the TLS handshake is bounded too (Node's default: 120 s)
  const factory = webSockets({
    http,
    // (and checked every second rather than Node's 30 s, as the RPC server does)
    ...(tls === undefined ? {} : { https: { ...http, connectionsCheckingInterval: Math.min(1_000, limits.upgradeTimeoutMs), handshakeTimeout: limits.upgradeTimeoutMs, cert: tls.current().cert, key: tls.current().key } })
  })
  return (components) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) => {
      const listener = createListener(options)
      const server = (listener as unknown as { server?: unknown }).server
      if (!(server instanceof net.Server)) throw new Error('@libp2p/websockets: the listener has no net.Server `server` any more; node/p2p-transports.ts must follow the upgrade')
      guardSockets(server, limits, stats)
      if (tls !== undefined) secureListener(listener, tls, limits)
      return listener
    }
    return transport
  }
}

/**
 * A wss listener: its silent-socket timeout moved to the TLS socket, and its
 * certificate renewed in place.
 *
 * The listener makes its https.Server in `listen()` and keeps it in a private
 * `https` field; @libp2p/websockets' own renewal path (its
 * `certificate:renew` event) replaces that server instead, for auto-tls. Here
 * the same server is re-keyed with `setSecureContext`, Node's way: sockets
 * already upgraded are untouched, the next handshake gets the new pair. If
 * an upgrade renames the field, `listen()` throws at start, loudly
 * (test/browser/wss.test.ts renews a certificate under a connected tab).
 */
function secureListener (listener: Listener, tls: TlsSource, limits: Pick<InboundLimitsConfig, 'socketIdleTimeoutMs'>): void {
  const listen = listener.listen.bind(listener)
  listener.listen = async (ma) => {
    await listen(ma)
    if (!ma.getComponents().some(c => c.name === 'tls' || c.name === 'wss')) return
    const server = (listener as unknown as { https?: unknown }).https
    if (!(server instanceof https.Server)) throw new Error('@libp2p/websockets: the listener has no https.Server `https` for a /tls/ws address any more; node/p2p-transports.ts must follow the upgrade')
    // The silent-socket timeout (guardSockets) is set on the raw socket, and `ws`
    // clears it on the socket it upgrades: over TLS that is the TLS socket, so the
    // raw one would be cut 10 s into every wss connection (measured: a tab lost its
    // connection). It has done its job once the listener hands the socket to the
    // https server (the first byte came); handshakeTimeout, then the HTTP timeouts,
    // bound what follows. This runs before any connection: listen() resolved in
    // the microtasks after 'listening', before the loop polls for sockets.
    server.prependListener('connection', (raw: net.Socket) => { raw.setTimeout(0) })
    // the same timeout on the TLS socket, until its upgrade (where `ws` clears it):
    // a peer that completes the handshake and then says nothing is closed as fast
    server.on('secureConnection', (socket: net.Socket) => {
      socket.setTimeout(limits.socketIdleTimeoutMs, () => { socket.destroy(new Error('idle socket timeout')) })
    })
    // the pair may have been renewed between building the transport and listening
    server.setSecureContext({ cert: tls.current().cert, key: tls.current().key })
    const unsubscribe = tls.subscribe((m) => { server.setSecureContext({ cert: m.cert, key: m.key }) })
    listener.addEventListener('close', unsubscribe, { once: true })
  }
}

function guardSockets (server: net.Server, limits: Pick<InboundLimitsConfig, 'socketIdleTimeoutMs' | 'maxConnectionsPerAddress'>, stats: Pick<InboundGateStats, 'refusedSockets'>): void {
  const perAddress = new Map<string, number>()
  // the listener's own handler runs only for sockets admitted here: a refused
  // socket must not reach it, or it would wait forever for the socket's first byte
  const handlers = server.listeners('connection') as Array<(socket: net.Socket) => void>
  server.removeAllListeners('connection')
  server.on('connection', (socket: net.Socket) => {
    const key = addressKey(socket.remoteAddress ?? '')
    const held = perAddress.get(key) ?? 0
    if (held >= limits.maxConnectionsPerAddress) {
      stats.refusedSockets++
      socket.destroy()
      return
    }
    perAddress.set(key, held + 1)
    socket.once('close', () => {
      const n = (perAddress.get(key) ?? 1) - 1
      if (n <= 0) perAddress.delete(key)
      else perAddress.set(key, n)
    })
    // destroyed with an error, so the listener's wait for the first byte rejects instead of hanging
    socket.setTimeout(limits.socketIdleTimeoutMs, () => { socket.destroy(new Error('idle socket timeout')) })
    for (const handler of handlers) handler.call(server, socket)
  })
}
