export { DynamoDBStore, type DynamoDBStoreOptions } from './store'
export { createTableInput, ensureTable, PRINCIPAL_INDEX } from './table'
