/** Edges of common test topologies over nodes 0..n-1. */
export function line (n: number): Array<[number, number]> {
  return Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as [number, number])
}

export function ring (n: number): Array<[number, number]> {
  return [...line(n), [n - 1, 0]]
}

/**
 * A connected random graph with average degree about `degree`: a random
 * spanning tree (so it is connected), plus random extra edges. `seed` makes it repeatable.
 */
export function randomGraph (n: number, degree: number, seed = 1): Array<[number, number]> {
  let state = seed
  const rand = (): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff
    return state / 0x7fffffff
  }
  const edges = new Set<string>()
  const add = (a: number, b: number): void => { if (a !== b) edges.add(a < b ? `${a}-${b}` : `${b}-${a}`) }
  for (let i = 1; i < n; i++) add(i, Math.floor(rand() * i))
  const target = Math.floor(n * degree / 2)
  while (edges.size < target) add(Math.floor(rand() * n), Math.floor(rand() * n))
  return [...edges].map(e => e.split('-').map(Number) as [number, number])
}
