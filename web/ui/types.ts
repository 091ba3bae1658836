import type { NodeMode, RelayFeedStats, TxPool, SubmitResult } from '../../src/index.ts'
import type { BrowserConnectivity } from '../connectivity.ts'
import type { IdbPoolStore } from '../store/idb-pool-store.ts'

/** What the dashboard needs of a node: a `BrowserLightpool` is one. */
export interface ObservedNode {
  readonly pool: TxPool
  readonly peerId: { toString: () => string }
  readonly network: string
  readonly mode: NodeMode
  getTx: (hash: string) => Promise<Uint8Array | undefined>
  submitTx: (bytes: Uint8Array) => Promise<SubmitResult>
  readonly connectivity?: BrowserConnectivity
  readonly storage?: IdbPoolStore | undefined
  /** Per relay followed by the light feed: what it listed, and what the tab's checks found of it. */
  feedStats?: () => readonly RelayFeedStats[]
}
