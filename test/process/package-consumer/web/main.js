// A consumer page: a light node through the relay named in ?relay=, listing
// the pending pool (the hashes, best first) in #txs.
import { createBrowserLightpool } from 'lightpool/web'

const params = new URLSearchParams(location.search)
const node = await createBrowserLightpool({
  relays: [params.get('relay')],
  network: params.get('network'),
  store: 'memory',
  datastore: 'memory',
  // the test's relay is ws:// on loopback, which the default gater refuses
  allowInsecure: true
})
const list = document.querySelector('#txs')
const show = () => { list.textContent = [...node.pool.best()].map(tx => tx.hash).join('\n') }
node.pool.events.on('added', show)
show()
