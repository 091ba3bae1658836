import { describe, expect, it } from 'vitest'
import type { Logger } from '@libp2p/interface'
import { ignoreError } from '../../src/index.ts'

describe('ignoreError', () => {
  it('logs at debug what was being done and the error, and swallows it', async () => {
    const lines: unknown[][] = []
    const log = Object.assign((...args: unknown[]) => { lines.push(args) }, {
      error: () => { throw new Error('not at error level') },
      trace: () => {},
      enabled: true
    }) as unknown as Logger
    const err = new Error('stream reset')
    await expect(Promise.reject(err).catch(ignoreError(log, 'closing a stream'))).resolves.toBeUndefined()
    expect(lines).toEqual([['%s failed (ignored): %e', 'closing a stream', err]])
  })
})
