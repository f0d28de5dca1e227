/** How much each scenario does, per mode. `quick` is `npm run bench`; `full` is `--full`; `smoke` is CI's. */
export interface Plan {
  storm: { connections: number; concurrency: number };
  broadcast: { clients: number; seconds: number; rates: number[] };
  targeted: { users: number; seconds: number; httpRates: number[]; producerRates: number[] };
  idleConnections: number[];
  /** Step up through the rates until one fails (ceiling), or run only the first rate. */
  sweep: boolean;
}

export const PLANS: Record<'smoke' | 'quick' | 'full', Plan> = {
  smoke: {
    storm: { connections: 100, concurrency: 16 },
    broadcast: { clients: 50, seconds: 1, rates: [20] },
    targeted: { users: 50, seconds: 1, httpRates: [100], producerRates: [100] },
    idleConnections: [200],
    sweep: false,
  },
  quick: {
    storm: { connections: 3000, concurrency: 64 },
    broadcast: { clients: 1000, seconds: 5, rates: [100] },
    targeted: { users: 1000, seconds: 5, httpRates: [2000], producerRates: [2000] },
    idleConnections: [10_000],
    sweep: false,
  },
  full: {
    storm: { connections: 10_000, concurrency: 128 },
    broadcast: { clients: 1000, seconds: 10, rates: [25, 50, 100, 150, 200, 300, 400, 600, 800] },
    targeted: {
      users: 1000,
      seconds: 10,
      httpRates: [500, 1000, 2000, 3000, 4000, 6000, 8000],
      producerRates: [1000, 2000, 4000, 6000, 8000, 12_000, 16_000],
    },
    // The machine's hard limit is 20,000 open files per process: 19,500 sockets leave room for the rest.
    idleConnections: [10_000, 19_500],
    sweep: true,
  },
};
