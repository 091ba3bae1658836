/**
 * The widget bundle (dist/lib/lightpool-widget.js): loading it defines
 * `<lightpool-dashboard>`. It also exports the library, so one file serves
 * both a `<script type="module">` and an `import`.
 */
import { defineLightpoolDashboard } from './element.ts'

defineLightpoolDashboard()

export * from '../index.ts'
