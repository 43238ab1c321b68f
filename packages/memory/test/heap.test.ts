import { describe, expect, it } from 'vitest'
import { ExpiryHeap, type HeapItem } from '../src/heap'

describe('ExpiryHeap', () => {
  it('pops in expiry order through random pushes, updates and removals', () => {
    // Deterministic pseudo-random sequence, so a failure reproduces.
    let seed = 42
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    const heap = new ExpiryHeap<HeapItem>()
    const items = new Set<HeapItem>()
    for (let step = 0; step < 5_000; step++) {
      const pick = [...items][rand(items.size || 1)]
      const action = rand(3)
      if (action === 0 || !pick) {
        const item = { expiresAt: rand(1_000), heapIndex: -1 }
        heap.push(item)
        items.add(item)
      } else if (action === 1) {
        pick.expiresAt = rand(1_000)
        heap.update(pick)
      } else {
        heap.remove(pick)
        items.delete(pick)
      }
    }
    expect(heap.size).toBe(items.size)
    const popped: number[] = []
    for (let top = heap.peek(); top; top = heap.peek()) {
      popped.push(top.expiresAt)
      heap.remove(top)
    }
    expect(popped).toEqual([...items].map((i) => i.expiresAt).sort((a, b) => a - b))
  })
})
