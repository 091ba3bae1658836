/** The logger the RPC server takes: pino's object-first methods, or anything shaped like them. */
export interface RpcLogger {
  debug: (obj: object, msg?: string) => void
  info: (obj: object, msg?: string) => void
  warn: (obj: object, msg?: string) => void
  error: (obj: object, msg?: string) => void
}

const noop = (): void => {}

export const silentLogger: RpcLogger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop })
