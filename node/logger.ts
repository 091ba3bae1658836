import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * Structured JSON logs on stdout (pino): one line per event, ready for any log
 * shipper. Operators read them with `| npx pino-pretty` if they want colour.
 */
export function createLogger (level: string): Logger {
  return pino({ level, base: { app: 'lightpool' }, timestamp: pino.stdTimeFunctions.isoTime })
}
