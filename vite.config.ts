import { resolve } from 'node:path'
import type { UserConfig } from 'vite'
import { defineConfig } from 'vitest/config'

/**
 * One file, three jobs, picked by `--mode`:
 *
 * - `vitest` (mode "test", or any other mode): the test runner settings below.
 * - `vite build --mode web`: the observer page, web/index.html → dist/web/
 *   (a static site; `lightpool node` serves it at /).
 * - `vite build --mode lib`: the embeddable widget and the browser library,
 *   self-contained ES modules → dist/lib/ (lightpool-widget.js, lightpool.js).
 */
const root = import.meta.dirname

const shared: UserConfig = {
  // relative asset URLs: the page works from any path (a node's /, a sub-folder of a static host)
  base: './',
  build: {
    target: 'es2022',
    sourcemap: true,
    emptyOutDir: true,
    // libp2p + noise + gossipsub + webrtc is ~700 kB minified: expected, not a warning
    chunkSizeWarningLimit: 2000
  }
}

function webConfig (): UserConfig {
  return {
    ...shared,
    root: resolve(root, 'web'),
    publicDir: false,
    build: { ...shared.build, outDir: resolve(root, 'dist/web') }
  }
}

function libConfig (): UserConfig {
  return {
    ...shared,
    publicDir: false,
    build: {
      ...shared.build,
      outDir: resolve(root, 'dist/lib'),
      lib: {
        entry: {
          lightpool: resolve(root, 'web/index.ts'),
          'lightpool-widget': resolve(root, 'web/widget/register.ts')
        },
        formats: ['es']
      }
    }
  }
}

export default defineConfig(({ mode }) => {
  if (mode === 'web') return webConfig()
  if (mode === 'lib') return libConfig()
  return {
    test: {
      include: ['test/**/*.test.ts'],
      exclude: ['test/output/**', 'node_modules/**', 'dist/**'],
      // prints the reliability suite's figures at the end of the run
      globalSetup: ['test/figures.setup.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000
    }
  }
})
