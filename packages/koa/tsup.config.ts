import { packageBuild } from '../../tsup.shared.ts'

// As express-session: require() returns the middleware itself.
export default packageBuild({ requireReturnsDefault: true })
