import type { Logger, PeerId } from '@libp2p/interface'
import { optional, type ConnectivityComponents } from './components.ts'
import { connectionKind } from './kind.ts'

/** The second identify after a connection change: catches a stream of the closed connection that closed after the connection did. */
const REIDENTIFY_AGAIN_MS = 1_500
/** The first, just after the change has settled. */
const REIDENTIFY_FIRST_MS = 50

/**
 * Identifies a peer again on its best open connection (direct first), so
 * that protocols keeping one stream per peer (gossipsub) reopen it there: at
 * once, and once more a little later in case a stream of the closed
 * connection closed after the connection did (gossipsub skips a peer whose old
 * stream it still holds). Identify is one small round trip.
 */
export class Reidentifier {
  private readonly components: ConnectivityComponents
  private readonly log: Logger
  private readonly pending = new Set<string>()
  private running = false

  constructor (components: ConnectivityComponents, log: Logger) {
    this.components = components
    this.log = log
  }

  start (): void { this.running = true }
  stop (): void { this.running = false }

  reidentify (peer: PeerId): void {
    const key = peer.toString()
    if (this.pending.has(key)) return
    this.pending.add(key)
    const run = (last: boolean): void => {
      if (last) this.pending.delete(key)
      if (!this.running) return
      const open = this.components.connectionManager.getConnections(peer).filter(c => c.status === 'open')
      const best = open.find(c => connectionKind(c.remoteAddr) !== 'relay') ?? open[0]
      if (best === undefined) return
      void optional(this.components, 'identify')?.identify(best).catch((err: Error) => { this.log('re-identify of %p failed - %e', peer, err) })
    }
    setTimeout(() => { run(false) }, REIDENTIFY_FIRST_MS)
    setTimeout(() => { run(true) }, REIDENTIFY_AGAIN_MS)
  }
}
