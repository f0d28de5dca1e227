/** The value of one sample in Prometheus text: `name` with every label in `labels` (e.g. `type="reservation"`), in any order. 0 if absent. */
export function metricValue(text: string, name: string, labels = ''): number {
  const wanted = labels ? labels.split(',') : [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',');
    if (wanted.every((l) => have.includes(l))) return Number(match[3]);
  }
  return 0;
}
