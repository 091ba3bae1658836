/**
 * Types shared by every floor of lightpool (core, node/, web/). This file
 * imports nothing, so anything may import it without pulling in a layer.
 */

/**
 * Light nodes keep announcements (the pool's metadata) and fetch bodies on
 * demand; full nodes fetch every body they would admit, and only they forward
 * announcements, since forwarding one means "I can serve this body".
 */
export type NodeMode = 'full' | 'light'

/** Where a tx body came from: a gossiped announcement, a sync listing, an on-demand fetch, or this node's own user. */
export type TxSource = 'gossip' | 'sync' | 'demand' | 'local'

/**
 * libp2p service factories by name, as `createLibp2p({ services })` takes
 * them. Each factory gets libp2p's components, a type libp2p does not
 * export (each service declares the part it reads), hence the `any`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above: libp2p's Components type is not exported
export type ServiceFactories = Record<string, (components: any) => unknown>
