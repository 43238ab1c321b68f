import { defineConfig, mergeConfig } from 'vitest/config'
import shared from '../vitest.shared.ts'

// One file at a time: the files start Redis topologies and app processes and time failovers,
// which must not compete with each other for the CPU.
export default mergeConfig(shared, defineConfig({ test: { fileParallelism: false } }))
