/**
 * The bench's one output shape: every figure sits beside a baseline measured in the same run, because absolute
 * times drift between runs on a shared machine. `run.ts` prints these rows as one table and writes them to
 * `bench/results.json`.
 */
type Verdict = 'pass' | 'miss' | 'info' | 'error';

export interface Row {
  group: 'size' | 'element' | 'helper';
  metric: string;
  value: number | null;
  unit: string;
  baseline: number | null;
  baselineLabel: string;
  /** Human form of the target, e.g. "≤ 10 kB gzip" or "≥ 30 % of bare". */
  target: string;
  /** value / baseline, when both exist. */
  ratio: number | null;
  verdict: Verdict;
  /** How far from the target when missed, and anything a reader needs to interpret the figure. */
  note: string;
  /** Raw samples or sub-figures, kept in results.json only. */
  detail?: Record<string, unknown>;
}

export function row(fields: Omit<Row, 'ratio'> & { ratio?: number | null }): Row {
  const ratio =
    fields.ratio !== undefined
      ? fields.ratio
      : fields.value !== null && fields.baseline !== null && fields.baseline !== 0
        ? fields.value / fields.baseline
        : null;
  return { ...fields, ratio };
}

export function errorRow(group: Row['group'], metric: string, error: unknown): Row {
  const message = error instanceof Error ? error.message : String(error);
  return row({
    group,
    metric,
    value: null,
    unit: '',
    baseline: null,
    baselineLabel: '',
    target: '',
    verdict: 'error',
    note: message.split('\n')[0]!.slice(0, 200),
  });
}

function formatValue(value: number | null, unit: string): string {
  if (value === null || Number.isNaN(value)) return '—';
  if (unit === 'B') return formatBytes(value);
  if (unit === 'ms') return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
  if (unit === 'req/s') return `${Math.round(value).toLocaleString('en-US')} req/s`;
  if (unit === '') return value.toFixed(2);
  return `${value < 10 && !Number.isInteger(value) ? value.toFixed(2) : Math.round(value)} ${unit}`;
}

export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const abs = Math.abs(bytes);
  if (abs < 1000) return `${sign}${Math.round(abs)} B`;
  if (abs < 1_000_000) return `${sign}${(abs / 1000).toFixed(2)} kB`;
  return `${sign}${(abs / 1_000_000).toFixed(1)} MB`;
}

function formatRatio(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return '—';
  return ratio >= 10 ? `${ratio.toFixed(0)}×` : `${ratio.toFixed(2)}×`;
}

const MARK: Record<Verdict, string> = { pass: 'pass', miss: 'MISS', info: 'info', error: 'ERROR' };

/** The table as plain text: metric | value | baseline | ratio | target | verdict, then numbered notes. */
export function renderTable(rows: readonly Row[], options: { markdown?: boolean } = {}): string {
  const header = ['metric', 'value', 'baseline', 'ratio', 'target', ''];
  const notes: string[] = [];
  const body = rows.map((r) => {
    let metric = r.metric;
    if (r.note) {
      notes.push(r.note);
      metric += ` [${notes.length}]`;
    }
    const baseline = r.baseline === null ? '—' : `${formatValue(r.baseline, r.unit)} (${r.baselineLabel})`;
    return [metric, formatValue(r.value, r.unit), baseline, formatRatio(r.ratio), r.target || '—', MARK[r.verdict]];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`];
  let group: string | undefined;
  body.forEach((cells, i) => {
    const g = rows[i]!.group;
    if (g !== group) {
      group = g;
      out.push(line([`**${g}**`, '', '', '', '', '']));
    }
    out.push(line(cells));
  });
  out.push('');
  notes.forEach((n, i) => out.push(`${options.markdown ? '- ' : ''}[${i + 1}] ${n}`));
  return out.join('\n');
}
