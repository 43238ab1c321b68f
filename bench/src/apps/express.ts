import ours from '@sessionkit/express'
import { RedisStore as ConnectRedisStore } from 'connect-redis'
import express, { type Express, type Request } from 'express'
import { SECRET } from '../fixtures'
import type { ServerConfig } from '../matrix'
import { nodeRedisClient } from './clients'
import { importPeer } from './peer-modules'
import { type Attributes, login, read, setup, write } from './routes'
import { oursStore } from './stores'

/** express-session's recommended options, identical for the peer and ours. */
const options = { secret: SECRET, resave: false, saveUninitialized: false }

export async function expressApp(config: ServerConfig): Promise<Express> {
  const app = express()
  const peer = config.variant.startsWith('peer') ? await importPeer('express-session') : undefined
  app.set('etag', false)
  app.set('x-powered-by', false)
  if (config.variant === 'peer-memory') app.use(peer(options))
  else if (config.variant === 'peer-redis') {
    const store = new ConnectRedisStore({ client: await nodeRedisClient(config) })
    app.use(peer({ ...options, store }))
  } else if (config.variant !== 'bare') {
    const store = await oursStore(config)
    app.use(ours(store ? { ...options, store } : options))
  }
  const bag = (req: Request) => req.session as unknown as Attributes
  app.get('/setup/:kind', (req, res) => {
    setup(bag(req), String(req.params.kind))
    res.send('ok')
  })
  app.get('/read', (req, res) => {
    res.send(read(config.variant === 'bare' ? undefined : bag(req)))
  })
  app.get('/write', (req, res) => {
    res.send(config.variant === 'bare' ? '1' : write(bag(req)))
  })
  app.get('/new', (req, res) => {
    res.send(config.variant === 'bare' ? 'created' : login(bag(req)))
  })
  return app
}
