/**
 * Topic and protocol ids. All carry the network name, so two networks never
 * mix, and a version, so a format change is a new id rather than a silent break.
 */
export interface ProtocolIds {
  network: string
  txTopic: string
  proofTopic: string
  fetch: string
  sync: string
  peers: string
  /** the light feed: a light node subscribes to a full node's accepted txs and removals */
  feed: string
  /** lightpush: a light node hands its own tx to a full node by request */
  push: string
}

const NETWORK_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/

export function protocolIds (network: string): ProtocolIds {
  if (!NETWORK_NAME.test(network)) throw new RangeError(`network name must match ${NETWORK_NAME}: "${network}"`)
  const base = `/lightpool/${network}`
  return {
    network,
    txTopic: `${base}/tx/1`,
    proofTopic: `${base}/proof/1`,
    fetch: `${base}/fetch/1`,
    sync: `${base}/sync/1`,
    peers: `${base}/peers/1`,
    feed: `${base}/feed/1`,
    push: `${base}/push/1`
  }
}
