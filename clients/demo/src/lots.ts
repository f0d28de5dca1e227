export interface Lot {
  lotId: number | string;
  name: string;
  free: number;
  capacity: number | undefined;
  /** created_at of the notification that last changed it. */
  updatedAt: string | undefined;
}

/** Where the board starts before any parking_lot notification arrives (made-up counts). */
export const SEEDED_LOTS: readonly Lot[] = [
  { lotId: 1, name: 'Abreeza Mall', free: 23, capacity: 120, updatedAt: undefined },
  { lotId: 2, name: 'SM Lanang', free: 18, capacity: 200, updatedAt: undefined },
  { lotId: 3, name: 'Gaisano Mall', free: 7, capacity: 80, updatedAt: undefined },
];

/**
 * Applies the data of a parking_lot notification, `{lot_id, name?, free, capacity?}`.
 * An unknown lot joins the board; data without a lot id or a valid free count is ignored.
 */
export function applyLotUpdate(lots: readonly Lot[], data: Record<string, unknown>, updatedAt: string): readonly Lot[] {
  const { lot_id: lotId, name, free, capacity } = data;
  if ((typeof lotId !== 'number' && typeof lotId !== 'string') || !isCount(free)) return lots;
  const existing = lots.find((lot) => String(lot.lotId) === String(lotId));
  const updated: Lot = {
    lotId,
    name: typeof name === 'string' && name ? name : (existing?.name ?? `Lot ${lotId}`),
    free,
    capacity: isCount(capacity) ? capacity : existing?.capacity,
    updatedAt,
  };
  return existing ? lots.map((lot) => (lot === existing ? updated : lot)) : [...lots, updated];
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
