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
