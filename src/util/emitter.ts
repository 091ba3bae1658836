/**
 * A small typed, synchronous event emitter. Unlike EventTarget in Node, a
 * listener that throws does not become an uncaught exception that kills the
 * process: the error goes to `onListenerError` and the other listeners still run.
 */
export type Listener<T> = (event: T) => void

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>()
  private readonly onListenerError: (err: unknown, type: PropertyKey) => void

  constructor (onListenerError: (err: unknown, type: PropertyKey) => void = (err, type) => {
    console.error(`listener for "${String(type)}" threw`, err)
  }) {
    this.onListenerError = onListenerError
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(type)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(type, set)
    }
    set.add(listener)
    return () => { this.off(type, listener) }
  }

  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    this.listeners.get(type)?.delete(listener)
  }

  listenerCount (type: keyof Events): number {
    return this.listeners.get(type)?.size ?? 0
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const set = this.listeners.get(type)
    if (set === undefined) return
    for (const listener of set) {
      try {
        (listener as Listener<Events[K]>)(event)
      } catch (err) {
        this.onListenerError(err, type)
      }
    }
  }
}
