/**
 * Connection slots: at most `maxTotal` held at once, at most `maxPerAddress` by one client address. Pure:
 * the caller acquires a slot before an upgrade and releases it when the connection ends. Addresses are
 * forgotten when they hold no slot, so the map stays as small as the connections.
 */
export type SlotRefusal = 'maxConnections' | 'maxConnectionsPerIp'

export interface ConnectionSlots {
  /** Takes a slot for `address`; the cap in the way when there is none. */
  acquire (address: string): SlotRefusal | null
  /** Gives back a slot `acquire` gave `address`. */
  release (address: string): void
  /** Slots held. */
  readonly size: number
}

export function createConnectionSlots (maxTotal: number, maxPerAddress: number): ConnectionSlots {
  const perAddress = new Map<string, number>()
  let size = 0
  return {
    acquire (address) {
      if (size >= maxTotal) return 'maxConnections'
      const held = perAddress.get(address) ?? 0
      if (held >= maxPerAddress) return 'maxConnectionsPerIp'
      perAddress.set(address, held + 1)
      size++
      return null
    },
    release (address) {
      const held = perAddress.get(address)
      if (held === undefined) return
      if (held <= 1) perAddress.delete(address)
      else perAddress.set(address, held - 1)
      size--
    },
    get size () {
      return size
    }
  }
}
