/** Display formatting for the observer page and the widget. Pure functions, no DOM. */

const nf = new Intl.NumberFormat('en-US')

export function formatCount (n: number): string {
  return nf.format(n)
}

export function formatBytes (n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n
  let i = -1
  do {
    v /= 1000
    i++
  } while (v >= 1000 && i < units.length - 1)
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`
}

/** A fee, grouped by thousands; very large ones in scientific-ish notation. */
export function formatFee (fee: bigint): string {
  if (fee < 1_000_000_000_000n) return nf.format(fee)
  const s = fee.toString()
  return `${s[0]}.${s.slice(1, 3)}e${s.length - 1}`
}

/** A short fee for axis labels: 950, 1.2k, 34k, 5.6M. */
export function compactFee (fee: bigint): string {
  const n = Number(fee)
  if (n < 1000) return String(n)
  const units: Array<[number, string]> = [[1e18, 'E'], [1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']]
  for (const [div, u] of units) {
    if (n >= div) {
      const v = n / div
      return `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10}${u}`
    }
  }
  return String(n)
}

/** "4 s", "12 min", "3 h", "2 d" — for ages and time left. */
export function formatDuration (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  const m = Math.round(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.round(m / 60)
  if (h < 48) return `${h} h`
  return `${Math.round(h / 24)} d`
}

export function formatRate (perSecond: number): string {
  if (perSecond === 0) return '0'
  if (perSecond < 10) return perSecond.toFixed(1)
  return Math.round(perSecond).toString()
}

export function formatTime (at: number): string {
  const d = new Date(at)
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}`
}

/** 12D3KooW…abcdef */
export function shortPeerId (id: string): string {
  return id.length <= 16 ? id : `${id.slice(0, 8)}…${id.slice(-6)}`
}

/** Normalizes what a person types in the search box: trims, drops 0x, lowercases. Undefined if it is not hex. */
export function normalizeHashQuery (q: string): string | undefined {
  let s = q.trim().toLowerCase()
  if (s.startsWith('0x')) s = s.slice(2)
  if (s.length === 0 || !/^[0-9a-f]+$/.test(s) || s.length > 64) return undefined
  return s
}

/** Rows of a hex dump: offset, 16 bytes as hex, and their printable ASCII. */
export function hexDump (bytes: Uint8Array, max = 256): string {
  const lines: string[] = []
  const n = Math.min(bytes.byteLength, max)
  for (let off = 0; off < n; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, n))
    const hex = [...row].map(b => b.toString(16).padStart(2, '0')).join(' ')
    const ascii = [...row].map(b => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
    lines.push(`${off.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${ascii}`)
  }
  if (bytes.byteLength > n) lines.push(`… ${formatCount(bytes.byteLength - n)} more bytes`)
  return lines.join('\n')
}
