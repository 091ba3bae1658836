import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { readFileSync, watch, type FSWatcher } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { createSecureContext } from 'node:tls'
import { multiaddr } from '@multiformats/multiaddr'

/**
 * TLS on the node's own listeners, so an https page can reach it with no
 * proxy: with `--tls-cert` and `--tls-key` the WebSocket port serves wss
 * (`/tls/ws`) and the HTTP port https, both from one certificate and key in
 * PEM files (certbot's `fullchain.pem` and `privkey.pem`).
 *
 * The files are read and checked at start (`loadTlsMaterial`): unreadable,
 * not PEM, a key that is not the certificate's, expired or not yet valid is a
 * `TlsError` naming the problem and the remedy (the CLI exits 2). While the
 * node runs, `TlsKeeper` reads them again when they change (fs.watch on their
 * directories, debounced: certbot swaps symlinks in `live/` one file at a
 * time) or on SIGHUP, and hands the new material to its subscribers, which
 * re-key their servers with `setSecureContext`: connections already open
 * keep the context they were made with, new ones get the new certificate, so
 * a renewal needs no restart and drops nobody. A reload that fails (a
 * half-written file, a key of the next certificate beside the old one) keeps
 * the current certificate and logs why; the next change or SIGHUP tries again.
 */

export interface TlsConfig {
  /** ms to wait after the last change to either file before reading them: certbot writes the pair one after the other. Default 1 000. */
  reloadDebounceMs: number
  /** Seconds before notAfter from which the node logs a warning (once per `expiryCheckIntervalMs`). Default 14 days, half of certbot's 30-day renewal window. */
  warnBeforeExpirySeconds: number
  /** ms between checks of the certificate's remaining lifetime. Default 1 h. */
  expiryCheckIntervalMs: number
}

export const DEFAULT_TLS_CONFIG: Readonly<TlsConfig> = Object.freeze({
  reloadDebounceMs: 1_000,
  warnBeforeExpirySeconds: 14 * 24 * 3600,
  expiryCheckIntervalMs: 3600_000
})

/** The problem and the remedy, in one line (as DataDirError does); the CLI exits 2 on it. */
export class TlsError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'TlsError'
  }
}

export interface TlsFiles {
  certFile: string
  keyFile: string
}

/** A certificate and its key, checked: what the servers are keyed with. */
export interface TlsMaterial {
  /** PEM: the certificate, then its chain */
  cert: string
  /** PEM private key */
  key: string
  notBefore: Date
  notAfter: Date
  /** SHA-256 fingerprint of the leaf certificate (AB:CD:…) */
  fingerprint256: string
  subject: string
  /** e.g. "DNS:pool.example.org, IP Address:203.0.113.7" */
  subjectAltName: string
}

function readPem (file: string, flag: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    const remedy = code === 'EACCES'
      ? 'let the user the node runs as read it (certbot: its live/ and archive/ directories are root-only by default)'
      : 'give the path of the PEM file'
    throw new TlsError(`${flag} ${file}: cannot read the ${what} (${code}); ${remedy}`)
  }
}

/** Reads and checks the pair; throws a TlsError that says what is wrong and what to do. */
export function loadTlsMaterial (files: TlsFiles, now: number = Date.now()): TlsMaterial {
  const cert = readPem(files.certFile, '--tls-cert', 'certificate')
  const key = readPem(files.keyFile, '--tls-key', 'private key')
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (err) {
    const swapped = /PRIVATE KEY-----/.test(cert) ? ': it holds a private key; are --tls-cert and --tls-key swapped?' : ''
    throw new TlsError(`--tls-cert ${files.certFile}: not a PEM certificate (${(err as Error).message})${swapped}; give the certificate (certbot: fullchain.pem)`)
  }
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(key)
  } catch (err) {
    const swapped = /BEGIN CERTIFICATE-----/.test(key) ? ': it holds a certificate; are --tls-cert and --tls-key swapped?' : ''
    throw new TlsError(`--tls-key ${files.keyFile}: not an unencrypted PEM private key (${(err as Error).message})${swapped}; give the certificate's key (certbot: privkey.pem)`)
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsError(`--tls-key ${files.keyFile} is not the key of --tls-cert ${files.certFile} (${x509.subject.replace(/\n/g, ', ')}); give the key the certificate was issued for (certbot: privkey.pem of the same live/ directory)`)
  }
  const notBefore = new Date(x509.validFrom)
  const notAfter = new Date(x509.validTo)
  if (notAfter.getTime() <= now) {
    throw new TlsError(`--tls-cert ${files.certFile}: the certificate expired on ${notAfter.toISOString()}; renew it (certbot renew) and start again`)
  }
  if (notBefore.getTime() > now) {
    throw new TlsError(`--tls-cert ${files.certFile}: the certificate is not valid before ${notBefore.toISOString()}; check this machine's clock`)
  }
  try {
    // what the servers will do with it: catches what the checks above do not (an unsupported key type, a broken chain PEM)
    createSecureContext({ cert, key })
  } catch (err) {
    throw new TlsError(`--tls-cert ${files.certFile} / --tls-key ${files.keyFile}: Node.js refuses the pair (${(err as Error).message}); give a PEM certificate chain and its key`)
  }
  return {
    cert,
    key,
    notBefore,
    notAfter,
    fingerprint256: x509.fingerprint256,
    subject: x509.subject.replace(/\n/g, ', '),
    subjectAltName: x509.subjectAltName ?? ''
  }
}

/**
 * The DNS names of announced WebSocket addresses the certificate does not
 * cover: a browser refuses wss to them. A warning, not an error: the
 * operator may be about to renew with the new name.
 */
export function uncoveredNames (material: Pick<TlsMaterial, 'cert'>, announce: readonly string[]): string[] {
  const x509 = new X509Certificate(material.cert)
  const out: string[] = []
  for (const addr of announce) {
    const parts = multiaddr(addr).getComponents()
    if (!parts.some(c => c.name === 'ws' || c.name === 'wss')) continue
    for (const c of parts) {
      if (!['dns', 'dns4', 'dns6'].includes(c.name) || c.value === undefined) continue
      if (x509.checkHost(c.value) === undefined && !out.includes(c.value)) out.push(c.value)
    }
  }
  return out
}

/**
 * Announced WebSocket addresses on the TLS port that say plain `/ws`: with
 * TLS that port speaks only wss, so a browser dialling them would fail. The
 * remedy is the same address with `/tls/ws` (or `/wss`).
 */
export function plainWsAnnounced (announce: readonly string[], wsPort: number): string[] {
  return announce.filter(addr => {
    const parts = multiaddr(addr).getComponents()
    const port = parts.find(c => c.name === 'tcp')?.value
    return parts.some((c, i) => c.name === 'ws' && parts[i - 1]?.name !== 'tls') && (wsPort === 0 || port === String(wsPort))
  })
}

export interface TlsLogger {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
}

export type TlsSubscriber = (material: TlsMaterial) => void

/** What a server needs to be keyed and re-keyed: the current pair, and word of the next one. */
export interface TlsSource {
  current: () => TlsMaterial
  /** Called with every new pair; returns the unsubscribe. */
  subscribe: (fn: TlsSubscriber) => () => void
}

export interface TlsKeeperInit extends Partial<TlsConfig> {
  files: TlsFiles
  log: TlsLogger
  /** The pair already loaded and checked at start (else it is loaded here, throwing a TlsError). */
  initial?: TlsMaterial
  /** Reload on SIGHUP. Default true; off for a keeper that is not the process's only one (tests). */
  sighup?: boolean
}

export interface TlsReloads { ok: number, failed: number, unchanged: number }

/** Holds the current pair, watches its files and SIGHUP, and tells subscribers of a new one. */
export class TlsKeeper implements TlsSource {
  readonly config: Readonly<TlsConfig>
  readonly reloads: TlsReloads = { ok: 0, failed: 0, unchanged: 0 }
  private material: TlsMaterial
  private readonly files: TlsFiles
  private readonly log: TlsLogger
  private readonly subscribers = new Set<TlsSubscriber>()
  private readonly watchers: FSWatcher[] = []
  private debounce: ReturnType<typeof setTimeout> | undefined
  private expiryTimer: ReturnType<typeof setInterval> | undefined
  private readonly onSighup = (): void => { this.reload('SIGHUP') }
  private readonly sighup: boolean
  private stopped = false

  constructor (init: TlsKeeperInit) {
    this.config = Object.freeze({
      reloadDebounceMs: init.reloadDebounceMs ?? DEFAULT_TLS_CONFIG.reloadDebounceMs,
      warnBeforeExpirySeconds: init.warnBeforeExpirySeconds ?? DEFAULT_TLS_CONFIG.warnBeforeExpirySeconds,
      expiryCheckIntervalMs: init.expiryCheckIntervalMs ?? DEFAULT_TLS_CONFIG.expiryCheckIntervalMs
    })
    this.files = { certFile: resolve(init.files.certFile), keyFile: resolve(init.files.keyFile) }
    this.log = init.log
    this.sighup = init.sighup ?? true
    this.material = init.initial ?? loadTlsMaterial(this.files)
  }

  current (): TlsMaterial { return this.material }

  subscribe (fn: TlsSubscriber): () => void {
    this.subscribers.add(fn)
    return () => { this.subscribers.delete(fn) }
  }

  /** Seconds until the certificate's notAfter (negative once expired). */
  expirySeconds (now: number = Date.now()): number {
    return (this.material.notAfter.getTime() - now) / 1000
  }

  /** Starts watching the files' directories (a renewal replaces files or symlinks there) and SIGHUP. */
  start (): void {
    const byDir = new Map<string, Set<string>>()
    for (const file of [this.files.certFile, this.files.keyFile]) {
      const names = byDir.get(dirname(file)) ?? new Set<string>()
      names.add(basename(file))
      byDir.set(dirname(file), names)
    }
    for (const [dir, names] of byDir) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          // some platforms give no name: then any change in the directory counts
          if (name === null || names.has(name.toString())) this.schedule()
        })
        watcher.on('error', (err) => { this.log.warn({ dir, err: err.message }, 'TLS: watching the certificate directory failed; reload with SIGHUP') })
        this.watchers.push(watcher)
      } catch (err) {
        this.log.warn({ dir, err: (err as Error).message }, 'TLS: cannot watch the certificate directory; reload with SIGHUP')
      }
    }
    if (this.sighup) process.on('SIGHUP', this.onSighup)
    this.checkExpiry()
    this.expiryTimer = setInterval(() => { this.checkExpiry() }, this.config.expiryCheckIntervalMs)
    this.expiryTimer.unref()
  }

  /** Reads the files now; on success with a new certificate, tells every subscriber. Returns whether the pair changed. */
  reload (why: string): boolean {
    if (this.stopped) return false
    let next: TlsMaterial
    try {
      next = loadTlsMaterial(this.files)
    } catch (err) {
      this.reloads.failed++
      this.log.warn({ why, err: (err as Error).message }, `TLS reload failed, keeping the current certificate (valid until ${this.material.notAfter.toISOString()}): ${(err as Error).message}`)
      return false
    }
    if (next.fingerprint256 === this.material.fingerprint256 && next.key === this.material.key) {
      this.reloads.unchanged++
      return false
    }
    this.material = next
    this.reloads.ok++
    for (const fn of this.subscribers) {
      try {
        fn(next)
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'TLS: a server refused the new certificate')
      }
    }
    this.log.info({ why, subject: next.subject, notAfter: next.notAfter.toISOString(), fingerprint256: next.fingerprint256 }, 'TLS certificate reloaded: new connections use it, open ones keep theirs')
    return true
  }

  stop (): void {
    this.stopped = true
    for (const w of this.watchers.splice(0)) w.close()
    if (this.debounce !== undefined) clearTimeout(this.debounce)
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer)
    if (this.sighup) process.off('SIGHUP', this.onSighup)
    this.subscribers.clear()
  }

  private schedule (): void {
    if (this.debounce !== undefined) clearTimeout(this.debounce)
    this.debounce = setTimeout(() => {
      this.debounce = undefined
      this.reload('files changed')
    }, this.config.reloadDebounceMs)
    this.debounce.unref()
  }

  private checkExpiry (): void {
    const left = this.expirySeconds()
    if (left < this.config.warnBeforeExpirySeconds) {
      this.log.warn({ notAfter: this.material.notAfter.toISOString(), days: Math.floor(left / 86400) }, `TLS certificate expires in ${(left / 86400).toFixed(1)} days: renew it (the node picks up the new files by itself)`)
    }
  }
}

/**
 * The node's TLS, from its settings: undefined without --tls-cert; else the
 * checked pair in a started keeper, with a warning for each announced name
 * the certificate does not cover.
 */
export function startTls (config: { tlsCert: string, tlsKey: string, announce: readonly string[] }, log: TlsLogger, init: Partial<TlsConfig> = {}): TlsKeeper | undefined {
  if (config.tlsCert === '') return undefined
  const keeper = new TlsKeeper({ ...init, files: { certFile: config.tlsCert, keyFile: config.tlsKey }, log })
  const material = keeper.current()
  for (const name of uncoveredNames(material, config.announce)) {
    log.warn({ name, subjectAltName: material.subjectAltName }, `TLS: the certificate does not cover the announced name ${name}; browsers will refuse wss to it`)
  }
  log.info({ subject: material.subject, subjectAltName: material.subjectAltName, notAfter: material.notAfter.toISOString() }, 'TLS: serving wss and https')
  keeper.start()
  return keeper
}

/** The WebSocket listen address's tail: wss when TLS is on. */
export function wsListenSuffix (tls: TlsSource | undefined): string {
  return tls === undefined ? '/ws' : '/tls/ws'
}
