// A least-recently-used map bounded by the bytes its entries account for. The runtime keeps its
// prepared modules (compiled code and glue) here, so the memory they hold has a ceiling however
// many modules and variants jobs bring.

export interface Sized {
  /** The bytes this entry is accounted for. */
  size: number;
}

export class ByteLru<V extends Sized> {
  private readonly map = new Map<string, V>();
  private total = 0;

  constructor(readonly maxBytes: number, private readonly onEvict: (key: string, value: V) => void = () => {}) {
    if (!(maxBytes > 0)) throw new TypeError('maxBytes must be positive');
  }

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.map.size;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Returns the entry and marks it most recently used. */
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Inserts (or replaces) an entry, then evicts the least recently used ones until the total fits; the new entry itself is kept even when it alone is larger than the bound. */
  set(key: string, value: V): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.total -= old.size;
      if (old !== value) this.onEvict(key, old);
    }
    this.map.set(key, value);
    this.total += value.size;
    for (const [k, v] of this.map) {
      if (this.total <= this.maxBytes || k === key) break;
      this.map.delete(k);
      this.total -= v.size;
      this.onEvict(k, v);
    }
  }

  clear(): void {
    for (const [k, v] of this.map) this.onEvict(k, v);
    this.map.clear();
    this.total = 0;
  }
}
