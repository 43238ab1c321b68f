/**
 * The Cluster hash slot of a key (CRC16/XMODEM of its hash tag, or of the whole key, mod 16384),
 * as Redis computes it: the store keeps its replica state per master, and a key's master is
 * the owner of its slot in the client's slot map.
 */
export function slotOf(key: string): number {
  const bytes = Buffer.from(key)
  const open = bytes.indexOf(0x7b) // '{'
  let from = 0
  let to = bytes.length
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1) // '}'
    if (close > open + 1) {
      from = open + 1
      to = close
    }
  }
  let crc = 0
  for (let i = from; i < to; i++) {
    crc ^= bytes[i]! << 8
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}
