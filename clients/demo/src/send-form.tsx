import { type FormEvent, useId, useState } from 'react';
import type { Lot } from './lots';
import { type OutgoingEvent, type SendOutcome, sendEvent } from './send-event';

type Kind = 'reservation' | 'parking_lot';
const RESERVATION_STATUSES = ['active', 'confirmed', 'completed', 'cancelled'] as const;

interface SendFormProps {
  serviceToken: string;
  userId: number | string;
  lots: readonly Lot[];
}

/**
 * Sends what a domain service would: a reservation event for the signed-in
 * user, or a lot update to everyone. Both come back over the WebSocket.
 */
export function SendForm({ serviceToken, userId, lots }: SendFormProps) {
  const id = useId();
  const [kind, setKind] = useState<Kind>('reservation');
  // Kept as typed (an emptied number field is ''); the browser's validation stops empty submits.
  const [reservationId, setReservationId] = useState(() => String(100 + Math.floor(Math.random() * 900)));
  const [reservationStatus, setReservationStatus] = useState<(typeof RESERVATION_STATUSES)[number]>('active');
  const [lotId, setLotId] = useState(() => String(lots[0]?.lotId ?? 1));
  const [free, setFree] = useState('10');
  const [message, setMessage] = useState('');
  const [sending, setSending] = useState(false);
  const [outcome, setOutcome] = useState<SendOutcome | undefined>(undefined);

  const lot = lots.find((l) => String(l.lotId) === lotId);

  function buildEvent(): OutgoingEvent {
    if (kind === 'reservation') {
      return {
        type: 'reservation',
        message: message.trim() || `Reservation #${reservationId} is ${reservationStatus}`,
        data: { reservation_id: Number(reservationId), status: reservationStatus },
        user_ids: [userId],
      };
    }
    const name = lot?.name ?? `Lot ${lotId}`;
    return {
      type: 'parking_lot',
      message: message.trim() || `${name}: ${free} free spots`,
      data: { lot_id: lot?.lotId ?? lotId, name, free: Number(free) },
    };
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSending(true);
    setOutcome(await sendEvent(serviceToken, buildEvent()));
    setSending(false);
  }

  return (
    <section className="panel" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Send an event</h2>
      <form className="send-form" data-testid="send-form" onSubmit={submit}>
        <fieldset className="send-form__kinds">
          <legend>Event</legend>
          <label>
            <input
              type="radio"
              name="kind"
              value="reservation"
              checked={kind === 'reservation'}
              onChange={() => setKind('reservation')}
              data-testid="send-kind-reservation"
            />
            Reservation (to me)
          </label>
          <label>
            <input
              type="radio"
              name="kind"
              value="parking_lot"
              checked={kind === 'parking_lot'}
              onChange={() => setKind('parking_lot')}
              data-testid="send-kind-lot"
            />
            Lot update (to everyone)
          </label>
        </fieldset>

        {kind === 'reservation' ? (
          <div className="send-form__row">
            <label>
              Reservation #
              <input
                type="number"
                min={1}
                required
                value={reservationId}
                onChange={(e) => setReservationId(e.currentTarget.value)}
                data-testid="send-reservation-id"
              />
            </label>
            <label>
              Status
              <select
                value={reservationStatus}
                onChange={(e) => setReservationStatus(e.currentTarget.value as (typeof RESERVATION_STATUSES)[number])}
                data-testid="send-reservation-status"
              >
                {RESERVATION_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
          </div>
        ) : (
          <div className="send-form__row">
            <label>
              Lot
              <select value={lotId} onChange={(e) => setLotId(e.currentTarget.value)} data-testid="send-lot">
                {lots.map((l) => (
                  <option key={String(l.lotId)} value={String(l.lotId)}>
                    {l.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Free spots
              <input
                type="number"
                min={0}
                required
                value={free}
                onChange={(e) => setFree(e.currentTarget.value)}
                data-testid="send-free"
              />
            </label>
          </div>
        )}

        <label className="send-form__message">
          <span>
            Message <span className="hint">(optional)</span>
          </span>
          <input type="text" maxLength={2000} value={message} onChange={(e) => setMessage(e.currentTarget.value)} placeholder={buildEvent().message} data-testid="send-message" />
        </label>

        <div className="send-form__actions">
          <button type="submit" disabled={sending} data-testid="send-submit">
            {sending ? 'Sending…' : 'Send'}
          </button>
          <output className={`send-form__result ${outcome ? (outcome.ok ? 'is-ok' : 'is-error') : ''}`} data-testid="send-result">
            {outcome?.summary}
          </output>
        </div>
      </form>
    </section>
  );
}
