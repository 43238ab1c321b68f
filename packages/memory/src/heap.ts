/** What the heap orders; `heapIndex` lets an entry be moved or removed in O(log n) without a search. */
export interface HeapItem {
  expiresAt: number
  heapIndex: number
}

/** Min-heap on `expiresAt`: a sweep pops only what expired, never scans the live records. */
export class ExpiryHeap<T extends HeapItem> {
  private readonly items: T[] = []

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    item.heapIndex = this.items.length
    this.items.push(item)
    this.up(item.heapIndex)
  }

  /** Restores order after `item.expiresAt` changed. */
  update(item: T): void {
    this.down(this.up(item.heapIndex))
  }

  remove(item: T): void {
    const i = item.heapIndex
    const last = this.items.pop()
    item.heapIndex = -1
    if (last === undefined || last === item) return
    this.items[i] = last
    last.heapIndex = i
    this.down(this.up(i))
  }

  clear(): void {
    for (const item of this.items) item.heapIndex = -1
    this.items.length = 0
  }

  private up(i: number): number {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.at(parent).expiresAt <= this.at(i).expiresAt) break
      this.swap(i, parent)
      i = parent
    }
    return i
  }

  private down(i: number): void {
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < this.items.length && this.at(left).expiresAt < this.at(smallest).expiresAt) smallest = left
      if (right < this.items.length && this.at(right).expiresAt < this.at(smallest).expiresAt)
        smallest = right
      if (smallest === i) return
      this.swap(i, smallest)
      i = smallest
    }
  }

  private at(i: number): T {
    return this.items[i]!
  }

  private swap(i: number, j: number): void {
    const a = this.at(i)
    const b = this.at(j)
    this.items[i] = b
    this.items[j] = a
    a.heapIndex = j
    b.heapIndex = i
  }
}
