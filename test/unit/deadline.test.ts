import { describe, expect, it } from 'vitest'
import { deadline } from '../../src/util/deadline.ts'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('deadline', () => {
  it('aborts with a TimeoutError naming what was awaited once the time is up', async () => {
    const d = deadline(20, 'no answer')
    expect(d.signal.aborted).toBe(false)
    await sleep(40)
    expect(d.signal.aborted).toBe(true)
    expect((d.signal.reason as Error).name).toBe('TimeoutError')
    expect((d.signal.reason as Error).message).toBe('no answer within 20 ms')
  })

  it('never fires once cleared', async () => {
    const d = deadline(20, 'no answer')
    d.clear()
    await sleep(40)
    expect(d.signal.aborted).toBe(false)
  })

  it('aborts at once with the reason given, and not again later', async () => {
    const d = deadline(20, 'no answer')
    const reason = new Error('stopping')
    d.abort(reason)
    expect(d.signal.reason).toBe(reason)
    await sleep(40)
    expect(d.signal.reason).toBe(reason)
  })
})
