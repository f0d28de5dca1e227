/** One measurement: printed as a JSON line, and as a row of the scenario's table. */
export interface Result {
  scenario: string;
  system: 'ours' | 'socketio';
  params: Record<string, number | string>;
  figures: Record<string, number>;
}
