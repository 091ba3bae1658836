import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { arch, endianness } from 'node:os'

/**
 * A look at an LMDB data file's header before LMDB maps it.
 *
 * Why: lmdb-js 3.x does not fail cleanly on a damaged file. Measured here:
 * garbage in `data.mdb` (random or constant bytes, even 5 bytes) kills the
 * process with SIGSEGV inside `open()`, and a file truncated below the pages
 * its meta page points at kills it with SIGBUS on the first read. A node
 * restarted by a supervisor would crash forever. So we check, in plain file
 * reads, what LMDB itself checks first (meta page flag, magic, data version,
 * page size) plus that the file holds every page the meta page says is in use
 * and the tree roots lie inside it, and refuse with a
 * message instead. Damage deeper in the file is reported by LMDB as an error
 * (MDB_PAGE_NOTFOUND, MDB_CORRUPTED), which callers handle.
 *
 * Layout (lmdb-js's LMDB fork, 64-bit little-endian — on other hosts the
 * check is skipped rather than risk refusing a sound file; see
 * node_modules/lmdb/dependencies/lmdb/libraries/liblmdb/mdb.c, MDB_page_header
 * and MDB_meta): pages 0 and 1 are meta pages, each
 *   0  u64 pgno | 8 u64 txnid | 16 u16 pad | 18 u16 flags | 20 u16 lower, u16 upper
 *   24 MDB_meta: u32 magic | u32 version | u64 address | u64 mapsize
 *   48 free-db MDB_db (u32 pad = page size, …, u64 root at +40)
 *   96 main-db MDB_db (root at +40)
 *   144 u64 last page in use | 152 u64 txnid
 */

const P_META = 0x08
const MDB_MAGIC = 0xbeefc0de
const MDB_DATA_VERSION = 2
const P_INVALID = 0xffffffffffffffffn
const META_BYTES = 176
const FREE_ROOT = 48 + 40
const MAIN_ROOT = 96 + 40
const LAST_PAGE = 144

/** Where the layout above holds: 64-bit pointers and page numbers, little-endian. */
const CHECKABLE = endianness() === 'LE' && arch().includes('64')

interface MetaPage { pageSize: number, txnid: bigint, lastPage: bigint, roots: bigint[] }

function readMeta (buf: Buffer, page: number): MetaPage | string {
  if ((buf.readUInt16LE(18) & P_META) === 0) return `page ${page} is not an LMDB meta page`
  if (buf.readUInt32LE(24) !== MDB_MAGIC) return `page ${page} lacks the LMDB magic number`
  const version = buf.readUInt32LE(28) & 0xffff
  if (version !== MDB_DATA_VERSION) return `LMDB data format ${version}, this lmdb build reads ${MDB_DATA_VERSION}`
  const pageSize = buf.readUInt32LE(48)
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return `page ${page} gives an impossible page size ${pageSize}`
  return { pageSize, txnid: buf.readBigUInt64LE(152), lastPage: buf.readBigUInt64LE(LAST_PAGE), roots: [buf.readBigUInt64LE(FREE_ROOT), buf.readBigUInt64LE(MAIN_ROOT)] }
}

/**
 * What is wrong with the LMDB data file at `file`, or undefined when it looks
 * sound (or does not exist, or is empty: LMDB initialises those).
 */
export function inspectDataFile (file: string): string | undefined {
  if (!CHECKABLE) return undefined
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    return `cannot read ${file}: ${(err as Error).message}`
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) return `${file} is not a regular file`
    const size = stat.size
    if (size === 0) return undefined
    const buf = Buffer.alloc(META_BYTES)
    if (readSync(fd, buf, 0, META_BYTES, 0) < META_BYTES) return `${file} is too short (${size} bytes) to be an LMDB file`
    const first = readMeta(buf, 0)
    if (typeof first === 'string') return `${file} is not an LMDB file: ${first}`
    if (size < 2 * first.pageSize) return `${file} is truncated: ${size} bytes cannot hold its two meta pages`
    readSync(fd, buf, 0, META_BYTES, first.pageSize)
    const second = readMeta(buf, 1)
    if (typeof second === 'string') return `${file} is damaged: ${second}`
    // LMDB reads from the meta with the higher txnid; every page it reaches must be in the file
    const latest = second.txnid > first.txnid ? second : first
    const pages = BigInt(Math.floor(size / first.pageSize))
    // The meta page names the last page in use: LMDB maps the file and reads any
    // page up to it, and a page past the end of the file is a SIGBUS, not an error
    // (measured: a data.mdb of 493 pages cut to 14, 78, 246, 443, 483 or 492 pages
    // killed every start with SIGBUS, exit 135). The tree roots alone do not
    // catch that: they often lie in the part that is left.
    if (latest.lastPage >= pages) {
      return `${file} is truncated: ${size} bytes (${pages} pages of ${first.pageSize}), but its meta page says ${latest.lastPage + 1n} pages are in use`
    }
    for (const root of latest.roots) {
      if (root !== P_INVALID && root >= pages) return `${file} is truncated: ${size} bytes, but its tree starts at page ${root}`
    }
    return undefined
  } finally {
    closeSync(fd)
  }
}
