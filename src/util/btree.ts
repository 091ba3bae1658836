import btreeModule from 'sorted-btree'

/**
 * sorted-btree is CommonJS with `exports.default = BTree`. Node's ESM loader
 * hands us `module.exports` (so the class is at `.default`), while bundlers
 * apply `__esModule` interop and hand us the class itself. Resolve both here,
 * once, so the rest of the code imports a plain class.
 */
type BTreeClass = typeof btreeModule.default
const mod = btreeModule as unknown as BTreeClass | { default: BTreeClass }
export const BTree: BTreeClass = 'default' in mod ? mod.default : mod
export type BTree<K, V> = InstanceType<typeof btreeModule.default<K, V>>
