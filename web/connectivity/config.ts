import type { RelayDialGuard } from './relay-dial-guard.ts'

/** How a browser tab keeps connected; see web/connectivity.ts for the whole picture. */
export interface ConnectivityConfig {
  /** First redial delay after a relay is lost. Default 1 s: a relay restart is the common case. */
  relayRetryBaseMs: number
  /**
   * Longest redial delay (each delay gets ±20% jitter, so a relay's tabs do
   * not come back in lockstep). Default 3 s: a tab with no relay is offline,
   * and once the relay is back the tab must be following its feed again
   * within ~5 s (dial, then subscribe at once). A dial to a relay that is
   * down costs it a refused connection.
   */
  relayRetryMaxMs: number
  /** Per relay dial. Default 10 s. */
  relayDialTimeoutMs: number
  /**
   * Longest redial delay after dials that timed out: the relay took the
   * socket but did not finish the handshake in relayDialTimeoutMs, so it is
   * up and overloaded, and every handshake a tab starts costs it (and the
   * tab) CPU whether or not it finishes. Default 20 s. Seen on a busy machine
   * (test/browser/many-tabs.test.ts): 20 tabs redialling every 1–3 s kept
   * the starved relay at its per-address handshake cap, 174 of 223 inbound
   * handshakes failed, and tabs stayed off their feed for minutes. A relay
   * that is down refuses the socket at once; that keeps relayRetryMaxMs.
   */
  relayBusyRetryMaxMs: number
  /** Relays the tab holds a reservation on (so other tabs can reach it through them), one per relay. Default 3. */
  maxReservations: number
  /**
   * A relay connected this long without a reservation is asked again, then
   * after each refusal twice as long, up to `reservationRetryMaxMs` (see
   * reservation-keeper.ts). Default 5 s: the transport's own ask on a new
   * connection takes one round trip.
   */
  reservationRetryBaseMs: number
  /** Longest wait between two asks of a relay that keeps refusing (a full relay). Default 1 min: an ask costs the relay one stream. */
  reservationRetryMaxMs: number
  /** Most WebRTC connections to other browsers this tab keeps. Default 8. */
  maxBrowserPeers: number
  /** Tries per WebRTC dial (@libp2p/webrtc 6.0.x loses about one dial in 8–14 to a race). Default 3. */
  webrtcAttempts: number
  /**
   * Per try. Default 4 s: measured here, a WebRTC dial through a relay takes
   * 50–250 ms on loopback, and one that loses the race hangs until a timeout
   * (about 1 in 8–14), after which a new try usually connects in ~60 ms.
   */
  webrtcAttemptTimeoutMs: number
  /** Pause before try n+1 is n × this: the race loses the SDP exchange, and a prompt retry usually wins. Default 200 ms. */
  webrtcRetryStepMs: number
  /** After a failed dial (all tries), wait this long, doubling per failure up to `webrtcBackoffMaxMs`. Default 5 s. */
  webrtcBackoffMs: number
  /** Longest wait before redialling a browser that keeps failing. Default 2 min. */
  webrtcBackoffMaxMs: number
  /** The tab with the larger peer id waits this long for the other to dial first, so two tabs rarely open two connections. Default 3 s. */
  yieldMs: number
  /** Close relayed connections to a peer once a WebRTC connection to it is open. Default true. */
  closeRelayedAfterUpgrade: boolean
  /** Housekeeping period. Default 1 s. */
  tickMs: number
  /** A WebRTC peer connected this long whose gossip subscription never reached us has a broken gossip stream (see gossipsub-streams-patch.ts). Default 5 s. */
  gossipGraceMs: number
  /** Least time between two resets of one peer's connection for missing gossip. Default 30 s. */
  gossipResetIntervalMs: number
  /** Upgrade records kept for `upgrades` (the UI and tests read them). Default 100. */
  maxUpgradeRecords: number
}

const DEFAULT_CONNECTIVITY_CONFIG: Readonly<ConnectivityConfig> = Object.freeze({
  relayRetryBaseMs: 1_000,
  relayRetryMaxMs: 3_000,
  relayDialTimeoutMs: 10_000,
  relayBusyRetryMaxMs: 20_000,
  maxReservations: 3,
  reservationRetryBaseMs: 5_000,
  reservationRetryMaxMs: 60_000,
  maxBrowserPeers: 8,
  webrtcAttempts: 3,
  webrtcAttemptTimeoutMs: 4_000,
  webrtcRetryStepMs: 200,
  webrtcBackoffMs: 5_000,
  webrtcBackoffMaxMs: 120_000,
  yieldMs: 3_000,
  closeRelayedAfterUpgrade: true,
  tickMs: 1_000,
  gossipGraceMs: 5_000,
  gossipResetIntervalMs: 30_000,
  maxUpgradeRecords: 100
})

export interface ConnectivityInit extends Partial<ConnectivityConfig> {
  /** Relay multiaddrs, each with /p2p/<peer id>. */
  relays: string[]
  /**
   * The gossip topic every lightpool peer subscribes to (the tx topic). When
   * set, the gossip watchdog runs (see gossipsub-streams-patch.ts).
   */
  gossipTopic?: string
  /** Shared with the connection gater (see RelayDialGuard). Default: one of its own, which then guards nothing. */
  guard?: RelayDialGuard
}

export function connectivityConfig (init: Partial<ConnectivityConfig>): Readonly<ConnectivityConfig> {
  const config: ConnectivityConfig = { ...DEFAULT_CONNECTIVITY_CONFIG }
  for (const key of Object.keys(DEFAULT_CONNECTIVITY_CONFIG) as Array<keyof ConnectivityConfig>) {
    if (init[key] !== undefined) (config as unknown as Record<string, unknown>)[key] = init[key]
  }
  config.webrtcAttempts = Math.max(1, config.webrtcAttempts)
  config.maxReservations = Math.max(0, Math.floor(config.maxReservations))
  return Object.freeze(config)
}
