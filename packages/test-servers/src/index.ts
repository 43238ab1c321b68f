export { type ClusterTopology, type StartClusterOptions, startCluster } from './cluster'
export {
  assertJavaInstalled,
  type DynamoDBLocal,
  type DynamoDBLocalClientConfig,
  dynamoDBCall,
  JAVA_INSTALL_HINT,
  type StartDynamoDBOptions,
  startDynamoDB,
} from './dynamodb'
export { holdNextCall } from './gate'
export {
  POSTGRES_INSTALL_HINT,
  type PostgresServer,
  type StartPostgresOptions,
  startPostgres,
} from './postgres'
export { call, command, infoFields, type Reply, waitFor } from './resp'
export { type SentinelTopology, type StartSentinelOptions, startSentinel } from './sentinel'
export { assertRedisInstalled, freePort, type ManagedProcess, type RedisServer, trackChild } from './server'
export { type StartRedisOptions, startRedis } from './standalone'
