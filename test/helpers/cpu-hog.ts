import { spawn, type ChildProcess } from 'node:child_process'

/**
 * A busy loop in a child process: one core taken for as long as a test runs,
 * as a user's laptop compiling or a phone in power-save takes it. Started
 * before the scene and stopped with the test (also when it fails).
 */
export interface CpuHog {
  stop: () => Promise<void>
}

export function startCpuHog (): CpuHog {
  const child: ChildProcess = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
  // never outlive the test runner, whatever ends it
  const kill = (): void => { child.kill('SIGKILL') }
  process.once('exit', kill)
  return {
    stop: async () => {
      process.removeListener('exit', kill)
      if (child.exitCode !== null || child.signalCode !== null) return
      await new Promise<void>((resolve) => {
        child.once('exit', () => { resolve() })
        child.kill('SIGKILL')
      })
    }
  }
}
