/**
 * The wide-area network of link-emulator.ts, run on its own thread so that
 * shaping bytes costs the nodes' event loop nothing.
 *
 * Every node has one access link: an uplink and a downlink of `bytesPerSec`
 * each, and every path between two nodes adds `latencyMs` one way. A byte a
 * node sends waits for its uplink, crosses the path, then waits for the
 * receiver's downlink. Each link is a fair queue over the node's connections
 * (round robin per segment, as fq_codel does on Linux), so one busy
 * connection does not starve the others; within a connection bytes stay in
 * order, as in TCP. A connection whose queue holds more than `queueBytes`
 * stops reading from its sender until it drains: TCP's flow control, so a
 * sender feels the link's speed instead of filling an infinite buffer.
 *
 * It is a discrete-event model: one heap of timed events, one timer armed for
 * the earliest. Segments are at most SEGMENT bytes so a 40 KB message does
 * not hold a link as one indivisible unit.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { parentPort } from 'node:worker_threads'

export interface EmulatorConfig {
  /** One-way delay added to every path, in ms. */
  latencyMs: number
  /** Each node's uplink and downlink speed in bytes per second; 0 = unlimited. */
  bytesPerSec: number
  /** Bytes a connection may hold queued in the network before its sender is paused. */
  queueBytes: number
}

export type EmulatorRequest =
  | { type: 'start', config: EmulatorConfig }
  | { type: 'route', id: number, from: number, to: number, host: string, port: number }
  | { type: 'stats', id: number }
  | { type: 'stop', id: number }

export type EmulatorReply =
  | { type: 'started' }
  | { type: 'routed', id: number, port: number }
  | { type: 'stats', id: number, sentBytes: number[], receivedBytes: number[] }
  | { type: 'stopped', id: number }

const SEGMENT = 8 * 1024

/** One direction of one proxied connection. */
interface Flow {
  from: number
  to: number
  source: Socket
  sink: Socket
  /** segments waiting for the sender's uplink */
  up: Uint8Array[]
  /** segments that crossed the path, waiting for the receiver's downlink */
  down: Uint8Array[]
  /** bytes read from `source` and not yet written to `sink` */
  inNetwork: number
  paused: boolean
  sourceEnded: boolean
}

/** A link (one node's uplink or downlink): fair queue over flows. */
interface Link {
  busy: boolean
  /** when the segment in transmission (or the last one) is done */
  busyUntil: number
  active: Flow[]
  next: number
  /** a downlink's segment in transmission, handed to the receiver when it is done */
  carrying?: { flow: Flow, segment: Uint8Array }
}

type Event =
  | { at: number, kind: 'up-done', node: number }
  | { at: number, kind: 'down-done', node: number }
  | { at: number, kind: 'arrive', flow: Flow, segment: Uint8Array }

let config: EmulatorConfig = { latencyMs: 0, bytesPerSec: 0, queueBytes: 1 << 20 }
const uplinks = new Map<number, Link>()
const downlinks = new Map<number, Link>()
const sent: number[] = []
const received: number[] = []
const servers: Server[] = []
const sockets = new Set<Socket>()

// ---- event heap and its one timer ---------------------------------------

const heap: Event[] = []
let timer: ReturnType<typeof setTimeout> | undefined
let timerAt = Infinity

function push (e: Event): void {
  heap.push(e)
  let i = heap.length - 1
  while (i > 0) {
    const p = (i - 1) >> 1
    if (heap[p]!.at <= heap[i]!.at) break
    ;[heap[p], heap[i]] = [heap[i]!, heap[p]!]
    i = p
  }
  arm()
}

function pop (): Event {
  const top = heap[0]!
  const last = heap.pop()!
  if (heap.length > 0) {
    heap[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < heap.length && heap[l]!.at < heap[m]!.at) m = l
      if (r < heap.length && heap[r]!.at < heap[m]!.at) m = r
      if (m === i) break
      ;[heap[m], heap[i]] = [heap[i]!, heap[m]!]
      i = m
    }
  }
  return top
}

function arm (): void {
  if (heap.length === 0) return
  const at = heap[0]!.at
  if (at >= timerAt) return
  if (timer !== undefined) clearTimeout(timer)
  timerAt = at
  timer = setTimeout(run, Math.max(0, at - performance.now()))
}

function run (): void {
  timer = undefined
  timerAt = Infinity
  // timers fire late by up to a millisecond: everything due by now happens now
  while (heap.length > 0 && heap[0]!.at <= performance.now() + 0.5) handle(pop())
  arm()
}

// ---- the model ------------------------------------------------------------

function link (links: Map<number, Link>, node: number): Link {
  let l = links.get(node)
  if (l === undefined) { l = { busy: false, busyUntil: 0, active: [], next: 0 }; links.set(node, l) }
  return l
}

/** Next segment of the link's fair queue, round robin over flows with something queued. */
function takeSegment (l: Link, queueOf: (f: Flow) => Uint8Array[]): { flow: Flow, segment: Uint8Array } | undefined {
  while (l.active.length > 0) {
    if (l.next >= l.active.length) l.next = 0
    const flow = l.active[l.next]!
    const queue = queueOf(flow)
    const segment = queue.shift()
    if (queue.length === 0) l.active.splice(l.next, 1)
    else l.next++
    if (segment !== undefined) return { flow, segment }
  }
  return undefined
}

const transmitMs = (bytes: number): number => config.bytesPerSec === 0 ? 0 : bytes * 1000 / config.bytesPerSec

/**
 * If the link is idle and has something queued, starts sending its next
 * segment: returns it with the time its last byte leaves.
 */
function transmitNext (l: Link, queueOf: (f: Flow) => Uint8Array[]): { flow: Flow, segment: Uint8Array, doneAt: number } | undefined {
  if (l.busy) return undefined
  const next = takeSegment(l, queueOf)
  if (next === undefined) return undefined
  // events run up to half a millisecond early: start from the previous end, not from now
  l.busy = true
  l.busyUntil = Math.max(performance.now(), l.busyUntil) + transmitMs(next.segment.byteLength)
  return { ...next, doneAt: l.busyUntil }
}

function startUplink (node: number): void {
  const sent = transmitNext(link(uplinks, node), f => f.up)
  if (sent === undefined) return
  push({ at: sent.doneAt + config.latencyMs, kind: 'arrive', flow: sent.flow, segment: sent.segment })
  push({ at: sent.doneAt, kind: 'up-done', node })
}

function startDownlink (node: number): void {
  const l = link(downlinks, node)
  const sent = transmitNext(l, f => f.down)
  if (sent === undefined) return
  // the receiver reads the segment once its downlink has carried all of it
  l.carrying = sent
  push({ at: sent.doneAt, kind: 'down-done', node })
}

function deliver (flow: Flow, segment: Uint8Array): void {
  received[flow.to] = (received[flow.to] ?? 0) + segment.byteLength
  if (!flow.sink.destroyed) flow.sink.write(segment)
  flow.inNetwork -= segment.byteLength
  if (flow.paused && flow.inNetwork <= config.queueBytes / 2) { flow.paused = false; flow.source.resume() }
  if (flow.sourceEnded && flow.inNetwork === 0 && !flow.sink.destroyed) flow.sink.end()
}

function handle (e: Event): void {
  switch (e.kind) {
    case 'up-done':
      link(uplinks, e.node).busy = false
      startUplink(e.node)
      break
    case 'arrive': {
      const l = link(downlinks, e.flow.to)
      e.flow.down.push(e.segment)
      if (e.flow.down.length === 1) l.active.push(e.flow)
      startDownlink(e.flow.to)
      break
    }
    case 'down-done': {
      const l = link(downlinks, e.node)
      const carried = l.carrying
      l.carrying = undefined
      l.busy = false
      if (carried !== undefined) deliver(carried.flow, carried.segment)
      startDownlink(e.node)
      break
    }
  }
}

function send (flow: Flow, chunk: Uint8Array): void {
  sent[flow.from] = (sent[flow.from] ?? 0) + chunk.byteLength
  flow.inNetwork += chunk.byteLength
  if (config.bytesPerSec === 0) {
    // latency only: no queues, each chunk lands latencyMs later, in order
    push({ at: performance.now() + config.latencyMs, kind: 'arrive', flow, segment: chunk })
  } else {
    const l = link(uplinks, flow.from)
    const wasIdle = flow.up.length === 0
    for (let o = 0; o < chunk.byteLength; o += SEGMENT) flow.up.push(chunk.subarray(o, Math.min(chunk.byteLength, o + SEGMENT)))
    if (wasIdle) l.active.push(flow)
    startUplink(flow.from)
  }
  if (!flow.paused && flow.inNetwork > config.queueBytes) { flow.paused = true; flow.source.pause() }
}

function flow (from: number, to: number, source: Socket, sink: Socket): Flow {
  const f: Flow = { from, to, source, sink, up: [], down: [], inNetwork: 0, paused: false, sourceEnded: false }
  source.on('data', (chunk: Buffer) => { send(f, chunk) })
  source.on('end', () => {
    f.sourceEnded = true
    if (f.inNetwork === 0 && !sink.destroyed) sink.end()
  })
  return f
}

function track (socket: Socket): void {
  sockets.add(socket)
  socket.setNoDelay(true)
  socket.on('close', () => sockets.delete(socket))
}

async function route (from: number, to: number, host: string, port: number): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (client) => {
    track(client)
    const upstream = connect({ host, port, allowHalfOpen: true })
    track(upstream)
    flow(from, to, client, upstream)
    flow(to, from, upstream, client)
    // a reset on either side resets the other: libp2p sees the failure it would see on a real path
    client.on('error', () => { upstream.destroy() })
    upstream.on('error', () => { client.destroy() })
    client.on('close', () => { if (!upstream.destroyed) upstream.destroySoon() })
    upstream.on('close', () => { if (!client.destroyed) client.destroySoon() })
  })
  servers.push(server)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve() })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('emulator: no TCP address')
  return address.port
}

const port = parentPort
if (port === null) throw new Error('link-emulator-worker runs in a worker thread')
port.on('message', (msg: EmulatorRequest) => {
  const reply = (r: EmulatorReply): void => { port.postMessage(r) }
  switch (msg.type) {
    case 'start':
      config = msg.config
      reply({ type: 'started' })
      break
    case 'route':
      void route(msg.from, msg.to, msg.host, msg.port).then(p => { reply({ type: 'routed', id: msg.id, port: p }) })
      break
    case 'stats':
      reply({ type: 'stats', id: msg.id, sentBytes: [...sent], receivedBytes: [...received] })
      sent.length = 0
      received.length = 0
      break
    case 'stop':
      for (const s of sockets) s.destroy()
      for (const s of servers) s.close()
      if (timer !== undefined) clearTimeout(timer)
      reply({ type: 'stopped', id: msg.id })
      break
  }
})
