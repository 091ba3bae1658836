/** A small hyperscript helper: the page and the widget are plain DOM, no framework. */
type Child = Node | string | null | undefined | false

export interface Props {
  class?: string
  text?: string
  attrs?: Record<string, string>
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (ev: HTMLElementEventMap[K]) => void }>
}

export function h<K extends keyof HTMLElementTagNameMap> (tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (props.class !== undefined) el.className = props.class
  if (props.text !== undefined) el.textContent = props.text
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v)
  for (const [type, fn] of Object.entries(props.on ?? {})) el.addEventListener(type, fn as EventListener)
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    el.append(c)
  }
  return el
}

/** Sets text only when it changed: no needless layout work when a value stays put. */
export function setText (el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text
}

export function setAttr (el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value)
}

const SVG = 'http://www.w3.org/2000/svg'
export function svg<K extends keyof SVGElementTagNameMap> (tag: K, attrs: Record<string, string> = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v)
  return el
}
