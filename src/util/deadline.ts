/**
 * An abort signal that fires with a TimeoutError after `ms`, and a `clear` to
 * call once the work is done. Used where AbortSignal.timeout would be called
 * per request: that keeps its timer armed for the full time even after the
 * answer came (2 min for an idle fetch stream), and combining it with another
 * signal through AbortSignal.any costs ~20× a plain controller and timer.
 */
export interface Deadline {
  signal: AbortSignal
  /** Disarms the timer; call it in a `finally`. */
  clear: () => void
  /** Aborts now with `reason` (the owner is stopping). */
  abort: (reason: unknown) => void
}

export function deadline (ms: number, what: string): Deadline {
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort(new DOMException(`${what} within ${ms} ms`, 'TimeoutError')) }, ms)
  return {
    signal: controller.signal,
    clear: () => { clearTimeout(timer) },
    abort: (reason) => { clearTimeout(timer); controller.abort(reason) }
  }
}
