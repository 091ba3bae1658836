/**
 * A least-recently-used map with a fixed number of entries, built on Map's
 * insertion order: `get` moves an entry to the back, `set` drops the front
 * when full. O(1) per operation.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>()
  readonly capacity: number

  constructor (capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('LRU capacity must be a positive integer')
    this.capacity = capacity
  }

  get size (): number { return this.map.size }

  get (key: K): V | undefined {
    const value = this.map.get(key)
    if (value !== undefined) {
      this.map.delete(key)
      this.map.set(key, value)
    }
    return value
  }

  has (key: K): boolean { return this.map.has(key) }

  set (key: K, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next()
      if (oldest.done !== true) this.map.delete(oldest.value)
    }
  }

  delete (key: K): boolean { return this.map.delete(key) }

  /** Oldest first; does not count as use. */
  entries (): IterableIterator<[K, V]> { return this.map.entries() }
  clear (): void { this.map.clear() }
}
