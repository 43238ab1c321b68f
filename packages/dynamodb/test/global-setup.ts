import { startDynamoDB } from '@sessionkit/test-servers'
import type { TestProject } from 'vitest/node'
import { createTableInput } from '../src/table'
import { TABLE } from './table'

/** One DynamoDB Local (one JVM) for every test file but the outage test, which kills its own. */
export default async function setup(project: TestProject) {
  const server = await startDynamoDB({ tables: [createTableInput(TABLE)] })
  project.provide('dynamodb', server.clientConfig)
  return () => server.stop()
}
