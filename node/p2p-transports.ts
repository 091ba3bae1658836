import net from 'node:net'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import type { Transport } from '@libp2p/interface'
import { addressKey, type InboundLimitsConfig } from './p2p-limits.ts'

type TransportFactory = (components: any) => Transport

/**
 * The node's TCP transport. Every accepted socket goes straight into the
 * libp2p handshake, where the connection gater's per-address caps and the
 * upgrade timeout bound it, so it needs nothing beyond libp2p's defaults
 * (which include a 2-minute inactivity timeout for the socket's whole life:
 * shorter would cut idle-but-healthy connections between liveness pings).
 */
export function limitedTcp (): TransportFactory {
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
export function limitedWebSockets (limits: Pick<InboundLimitsConfig, 'socketIdleTimeoutMs' | 'upgradeTimeoutMs' | 'maxConnectionsPerAddress'>): TransportFactory {
  const factory = webSockets({ http: { headersTimeout: limits.upgradeTimeoutMs, requestTimeout: limits.upgradeTimeoutMs } }) as TransportFactory
  return (components) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) => {
      const listener = createListener(options)
      const server = (listener as unknown as { server?: unknown }).server
      if (!(server instanceof net.Server)) throw new Error('@libp2p/websockets: the listener has no net.Server `server` any more; node/p2p-transports.ts must follow the upgrade')
      guardSockets(server, limits)
      return listener
    }
    return transport
  }
}

function guardSockets (server: net.Server, limits: Pick<InboundLimitsConfig, 'socketIdleTimeoutMs' | 'maxConnectionsPerAddress'>): void {
  const perAddress = new Map<string, number>()
  // the listener's own handler runs only for sockets admitted here: a refused
  // socket must not reach it, or it would wait forever for the socket's first byte
  const handlers = server.listeners('connection') as Array<(socket: net.Socket) => void>
  server.removeAllListeners('connection')
  server.on('connection', (socket: net.Socket) => {
    const key = addressKey(socket.remoteAddress ?? '')
    const held = perAddress.get(key) ?? 0
    if (held >= limits.maxConnectionsPerAddress) {
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
