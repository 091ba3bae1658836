// Lint: standard style (neostandard, the js-libp2p family's: no semicolons,
// a space before a function's parens, single quotes) and typescript-eslint's
// type-checked rules on every .ts file, against tsconfig.json (which covers
// src, node, web, test, scripts and vite.config.ts). `npm run lint`.
//
// TypeScript 7 ships no JavaScript compiler API, and typescript-eslint needs
// one (its peer range is typescript <6.1). npm installs typescript-eslint
// under neostandard with the TypeScript 6 it asks for, but ts-api-utils, a
// dependency of typescript-eslint that accepts any TypeScript, lands at the
// top and would load the project's TypeScript 7 (it then fails on load:
// "Cannot read properties of undefined (reading 'Intrinsic')"). So, for this
// process only, every `typescript` import resolves to the copy
// typescript-eslint itself uses. Delete the hook when typescript-eslint
// supports TypeScript 7.
import { createRequire, registerHooks } from 'node:module'
import { pathToFileURL } from 'node:url'

const fromHere = createRequire(import.meta.url)
const typescriptEslint = createRequire(fromHere.resolve('neostandard')).resolve('typescript-eslint')
const typescriptForLint = pathToFileURL(createRequire(typescriptEslint).resolve('typescript')).href
registerHooks({
  resolve (specifier, context, next) {
    if (specifier === 'typescript') return { url: typescriptForLint, format: 'commonjs', shortCircuit: true }
    return next(specifier, context)
  }
})

// Imported after the hook, so that it applies to them.
const { neostandard, plugins, resolveIgnoresFromGitignore } = await import('neostandard')
const tseslint = plugins['typescript-eslint']
const ts = ['**/*.ts']

export default [
  // package-consumer/ is a separate project checked against the packed tarball (test/process/package.test.ts).
  { ignores: [...resolveIgnoresFromGitignore(), 'test/process/package-consumer/**'] },

  ...neostandard({ ts: true, noJsx: true }),

  ...tseslint.configs.recommendedTypeCheckedOnly.map(config => ({ ...config, files: ts })),
  {
    files: ts,
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      // the four issue 21 names, on whatever the presets above say
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // inline (`import { a, type B }`), as the code writes them
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],

      // `void promise` as a statement is the house's mark of a deliberate
      // fire-and-forget (what no-floating-promises accepts); elsewhere void
      // stays refused, as standard has it.
      'no-void': ['error', { allowAsStatement: true }],

      // An `async` method with no await is deliberate here: it implements a
      // promise-returning contract (PoolStore, Verifier, Signer, Service
      // start/stop), and `async` turns a synchronous throw into the rejection
      // the contract promises.
      '@typescript-eslint/require-await': 'off',

      // tsc reports a real redeclaration (ts2451); the rule adds only false
      // alarms for a value and a type of one name, as src/util/btree.ts
      // declares the way a class does
      '@typescript-eslint/no-redeclare': 'off',

      // a `let` read before its one assignment is deliberate when a callback
      // may run first and must see undefined (IdbPoolStore.open's `blocking`)
      'prefer-const': ['error', { destructuring: 'all', ignoreReadBeforeAssign: true }]
    }
  },
  {
    // Tests read JSON-RPC replies and page state as `any` (`res.json()`,
    // `JSON.parse`, `page.evaluate`) and assert their shape with expect(): the
    // assertion is the type check there. The rest of the code is held to them.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off'
    }
  }
]
