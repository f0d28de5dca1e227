import type { Lot } from './lots';

/** One card per lot with its free spots; a card flashes when an update arrives. */
export function LotBoard({ lots }: { lots: readonly Lot[] }) {
  return (
    <section className="panel" aria-labelledby="lots-heading">
      <h2 id="lots-heading">Parking lots</h2>
      <ul className="lots" data-testid="lots">
        {lots.map((lot) => (
          <LotCard key={String(lot.lotId)} lot={lot} />
        ))}
      </ul>
    </section>
  );
}

function LotCard({ lot }: { lot: Lot }) {
  const { lotId, name, free, capacity, updatedAt } = lot;
  const share = capacity ? Math.min(1, free / capacity) : undefined;
  const level = free === 0 ? 'full' : share !== undefined && share < 0.15 ? 'low' : 'ok';
  return (
    // A new key per update restarts the flash animation.
    <li className={`lot is-${level}${updatedAt ? ' is-updated' : ''}`} data-testid={`lot-${lotId}`} key={updatedAt ?? 'seed'}>
      <h3 className="lot__name">{name}</h3>
      <p className="lot__free">
        <span className="lot__count" data-testid={`lot-${lotId}-free`}>
          {free}
        </span>{' '}
        free{capacity !== undefined && <span className="lot__capacity"> of {capacity}</span>}
      </p>
      {share !== undefined && (
        <div className="lot__bar" aria-hidden="true">
          <div className="lot__bar-fill" style={{ width: `${Math.round(share * 100)}%` }} />
        </div>
      )}
      {updatedAt && (
        <p className="lot__updated">
          Updated <time dateTime={updatedAt}>{new Date(updatedAt).toLocaleTimeString()}</time>
        </p>
      )}
    </li>
  );
}
