import { packageBuild } from '../../tsup.shared.ts'

// As @fastify/session: require() returns the plugin itself (with .default, .fastifySession).
export default packageBuild({ requireReturnsDefault: true })
