/** A small line chart of one resource against its limit; the label says the latest value in words. */
export interface SparklineProps {
  /** Oldest first; null where the value is unknown (the first CPU sample). */
  readonly values: readonly (number | null)[];
  /** The top of the chart: the session's limit. */
  readonly max: number;
  /** What the chart shows, for people who do not see it: "memory 120 MiB of 512 MiB". */
  readonly label: string;
  readonly width?: number;
  readonly height?: number;
}

/** Past this share of the limit the line turns to the warning colour (the resource monitor alerts at 80 %). */
const WARN_FRACTION = 0.8;

export function Sparkline({ values, max, label, width = 120, height = 28 }: SparklineProps) {
  const known = values.map((value, index) => ({ value, index })).filter((point) => point.value !== null);
  const top = max > 0 ? max : Math.max(1, ...known.map((point) => point.value ?? 0));
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const y = (value: number): number => height - 2 - (Math.min(value, top) / top) * (height - 4);
  const points = known
    .map((point) => `${(point.index * step).toFixed(1)},${y(point.value ?? 0).toFixed(1)}`)
    .join(' ');
  const latest = known.at(-1)?.value ?? null;
  const warn = latest !== null && max > 0 && latest / max >= WARN_FRACTION;
  return (
    <svg
      class={`sparkline${warn ? ' sparkline--warn' : ''}`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      // Where a narrow screen squeezes the chart, it narrows instead of shrinking whole.
      preserveAspectRatio="none"
      role="img"
      aria-label={label}
    >
      <title>{label}</title>
      <line class="sparkline__limit" x1="0" x2={width} y1="2" y2="2" />
      {known.length > 1 ? <polyline class="sparkline__line" points={points} /> : null}
      {latest !== null ? (
        <circle class="sparkline__dot" cx={(known.at(-1)?.index ?? 0) * step} cy={y(latest)} r="2" />
      ) : null}
    </svg>
  );
}
