// The consumer's own Vite build: web/index.html + web/main.js → dist/.
export default {
  root: 'web',
  build: { outDir: '../dist', emptyOutDir: true, target: 'es2022' }
}
