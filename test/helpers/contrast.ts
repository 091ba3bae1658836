/**
 * WCAG 2 contrast of every visible piece of text on a page, computed in the
 * page: the text's colour (times the opacity of it and its ancestors) over
 * the first opaque-ish background behind it. Run with
 * `page.evaluate(lowContrastText, { root })`; returns the texts below the
 * WCAG AA ratio (4.5, or 3 for large text).
 */
export interface ContrastFailure { text: string, ratio: number, color: string, background: string, selector: string }

export function lowContrastText (opts: { root?: string } = {}): ContrastFailure[] {
  const parse = (c: string): [number, number, number, number] => {
    const m = /rgba?\(([^)]+)\)/.exec(c)
    if (m === null) return [0, 0, 0, 0]
    const p = m[1]!.split(/[\s,/]+/).filter(Boolean).map(Number)
    return [p[0]!, p[1]!, p[2]!, p[3] ?? 1]
  }
  const lum = ([r, g, b]: number[]): number => {
    const f = (v: number): number => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4 }
    return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!)
  }
  const blend = (fg: number[], bg: number[], a: number): number[] => [0, 1, 2].map(i => fg[i]! * a + bg[i]! * (1 - a))
  const backgroundOf = (el: Element | null): number[] => {
    // layers from the element up, composited bottom-up over the page's own background
    const layers: Array<[number, number, number, number]> = []
    for (let e = el; e !== null; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor)
      if (c[3] > 0) layers.push(c)
      if (c[3] >= 1) break
    }
    let bg = [15, 18, 32]
    for (const c of layers.reverse()) bg = blend(c, bg, c[3])
    return bg
  }
  const root = opts.root === undefined ? document.body : document.querySelector(opts.root)!
  const failures: ContrastFailure[] = []
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
  const seen = new Set<Element>()
  for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
    const el = n.parentElement
    if (el === null || seen.has(el) || (n.textContent ?? '').trim() === '') continue
    seen.add(el)
    const style = getComputedStyle(el)
    const rect = el.getBoundingClientRect()
    if (style.visibility === 'hidden' || rect.width === 0 || rect.height === 0 || el.closest('[hidden], .lp-sr-only') !== null) continue
    let opacity = 1
    for (let e: Element | null = el; e !== null; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity)
    const fg = parse(style.color)
    const bg = backgroundOf(el)
    const text = blend(fg, bg, fg[3] * opacity)
    const [l1, l2] = [lum(text), lum(bg)].sort((a, b) => b - a)
    const ratio = (l1! + 0.05) / (l2! + 0.05)
    const size = parseFloat(style.fontSize)
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700)
    if (ratio < (large ? 3 : 4.5)) {
      failures.push({ text: (n.textContent ?? '').trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100, color: style.color, background: `rgb(${bg.map(Math.round).join(', ')})`, selector: `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}` })
    }
  }
  return failures
}
