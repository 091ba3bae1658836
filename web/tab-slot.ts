/**
 * Tabs of one origin share IndexedDB. Two tabs writing one pool database
 * would delete each other's records, and two tabs with one libp2p key would
 * fight over one relay reservation. So each tab takes a *slot*: the lowest
 * free number, held by a Web Lock for as long as the tab lives. Slot 0's
 * databases are "lightpool-<network>-pool" and "-peers"; slot n's carry "-n".
 * A reloaded tab gets its slot back (the lock goes with the page), so it
 * finds its own pool, peer store and peer id again.
 *
 * Without the Web Locks API (plain-http pages on a non-local host are not a
 * secure context) every tab uses slot 0.
 */
export interface TabSlot {
  slot: number
  /** Gives the slot back (the tab's databases are closed first). */
  release: () => void
}

const MAX_SLOTS = 16

export async function acquireTabSlot (network: string): Promise<TabSlot> {
  const locks = (globalThis as { navigator?: Navigator }).navigator?.locks
  if (locks === undefined) return { slot: 0, release: () => {} }
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    const got = await new Promise<boolean>((resolve) => {
      locks.request(`lightpool/${network}/slot/${slot}`, { ifAvailable: true }, async (lock) => {
        resolve(lock !== null)
        if (lock !== null) await held
      }).catch(() => { resolve(false) })
    })
    if (got) return { slot, release }
  }
  // sixteen tabs on one network: share the last slot rather than fail
  return { slot: MAX_SLOTS - 1, release: () => {} }
}

export function slotSuffix (slot: number): string {
  return slot === 0 ? '' : `-${slot}`
}
