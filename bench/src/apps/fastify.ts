import fastifyCookie from '@fastify/cookie'
import ours from '@sessionkit/fastify'
import { RedisStore as ConnectRedisStore } from 'connect-redis'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { SECRET } from '../fixtures'
import type { ServerConfig } from '../matrix'
import { nodeRedisClient } from './clients'
import { importPeer } from './peer-modules'
import { type Attributes, login, read, setup, write } from './routes'
import { oursStore } from './stores'

/** @fastify/session's defaults, with a plain-HTTP cookie: identical for the peer and ours. */
const options = { secret: SECRET, cookie: { secure: false } }

export async function fastifyApp(config: ServerConfig): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  const peer = config.variant.startsWith('peer') ? await importPeer('@fastify/session') : undefined
  if (config.variant !== 'bare') await app.register(fastifyCookie)
  if (config.variant === 'peer-memory') await app.register(peer, options)
  else if (config.variant === 'peer-redis') {
    const store = new ConnectRedisStore({ client: await nodeRedisClient(config) })
    await app.register(peer, { ...options, store })
  } else if (config.variant !== 'bare') {
    const store = await oursStore(config)
    await app.register(ours, store ? { ...options, store } : options)
  }
  const session = (request: FastifyRequest) => (request as unknown as { session: Attributes }).session
  app.get<{ Params: { kind: string } }>('/setup/:kind', async (request) => {
    setup(session(request), request.params.kind)
    return 'ok'
  })
  app.get('/read', async (request) => read(config.variant === 'bare' ? undefined : session(request)))
  app.get('/write', async (request) => (config.variant === 'bare' ? '1' : write(session(request))))
  app.get('/new', async (request) => (config.variant === 'bare' ? 'created' : login(session(request))))
  return app
}
