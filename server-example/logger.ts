/**
 * A tiny logger with the `[pay-checkout]` prefix. Field values under keys that can hold secrets are replaced
 * before anything is written, at any depth, so a careless `log.info('x', { config })` cannot leak a secret word.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

const SECRET_KEY =
  /secret|signature|^hash$|password|passwd|token|api[-_]?key|apikey|authorization|auth[-_]?value|cookie|ipn[-_]?secret|order[-_]?secret|private/i;

const MAX_DEPTH = 6;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) ? '[redacted]' : redact(inner, depth + 1);
    }
    return out;
  }
  if (typeof value === 'string') return redactUrl(value);
  return value;
}

/** BoxExchanger payment URLs end with the order secret: keep only its first characters. */
function redactUrl(text: string): string {
  return text.replace(/(\/(?:payment|order)\/[^/\s]+\/)([^/\s?#]{4})[^/\s?#]*/g, '$1$2…');
}

export function createLogger(level: LogLevel = 'info', sink: (line: string) => void = defaultSink): Logger {
  const threshold = ORDER[level];
  const write = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[at] < threshold) return;
    const suffix = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(redact(fields))}` : '';
    sink(`[pay-checkout] ${at} ${message}${suffix}`);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

function defaultSink(line: string): void {
  // stderr keeps stdout free for whatever embeds the helper.
  process.stderr.write(`${line}\n`);
}
