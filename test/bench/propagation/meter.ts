import type { Counter, CounterGroup, Histogram, HistogramGroup, Metric, MetricGroup, Metrics, MultiaddrConnection, Stream, Summary, SummaryGroup } from '@libp2p/interface'

const noop = (): void => {}
const metric: Metric & Counter & Histogram & Summary = { update: noop, increment: noop, decrement: noop, reset: noop, timer: () => noop, observe: noop }
const group: MetricGroup & CounterGroup & HistogramGroup & SummaryGroup = { update: noop, increment: noop, decrement: noop, reset: noop, timer: () => noop, observe: noop }

/**
 * A libp2p Metrics implementation that measures one thing: payload bytes
 * received on each protocol stream of one node. It counts at the stream level
 * the way @libp2p/prometheus-metrics does (by observing dispatched `message`
 * events without adding a listener), but per node instance, which the
 * prometheus one (a process-wide registry) cannot do for 20 nodes in one process.
 */
export class StreamMeter {
  readonly received = new Map<string, number>()
  counting = false

  reset (): void {
    this.received.clear()
  }

  total (filter: (protocol: string) => boolean = () => true): number {
    let sum = 0
    for (const [protocol, bytes] of this.received) if (filter(protocol)) sum += bytes
    return sum
  }

  metrics (): Metrics {
    const track = (stream: Stream): void => {
      const protocol = stream.protocol
      const dispatch = stream.dispatchEvent.bind(stream)
      stream.dispatchEvent = (evt: Event): boolean => {
        if (this.counting && evt.type === 'message') {
          const data = (evt as Event & { data: { byteLength: number } }).data
          this.received.set(protocol, (this.received.get(protocol) ?? 0) + data.byteLength)
        }
        return dispatch(evt)
      }
    }
    const register = (() => metric) as unknown as Metrics['registerMetric']
    const registerGroup = (() => group) as unknown as Metrics['registerMetricGroup']
    return {
      trackMultiaddrConnection: (_maConn: MultiaddrConnection) => {},
      trackProtocolStream: track,
      registerMetric: register,
      registerMetricGroup: registerGroup,
      registerCounter: register,
      registerCounterGroup: registerGroup,
      registerHistogram: register as unknown as Metrics['registerHistogram'],
      registerHistogramGroup: registerGroup as unknown as Metrics['registerHistogramGroup'],
      registerSummary: register as unknown as Metrics['registerSummary'],
      registerSummaryGroup: registerGroup as unknown as Metrics['registerSummaryGroup'],
      createTrace: () => undefined,
      traceFunction: ((_name: string, fn: unknown) => fn) as Metrics['traceFunction']
    }
  }
}
