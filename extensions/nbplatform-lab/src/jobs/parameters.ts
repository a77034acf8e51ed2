import type { INotebookJSON, ParameterValue } from './jobsApi';

/**
 * A parameter found in a notebook's `parameters` cell.
 */
export interface INotebookParameter {
  name: string;
  /** The default as written in the cell (a Python literal). */
  literal: string;
}

/**
 * The source of a cell, whichever way nbformat stored it.
 */
function cellSource(source: unknown): string {
  if (Array.isArray(source)) {
    return source.join('');
  }
  return typeof source === 'string' ? source : '';
}

/**
 * The `name = literal` lines of the first cell tagged `parameters`.
 *
 * Annotated names (`epochs: int = 3`) and trailing comments are understood;
 * anything else (expressions spanning lines, calls) is left out, as the API
 * checks the parameters again. A name assigned twice has its last value (as
 * when the cell runs), in the place of its first.
 */
export function findParameters(notebook: INotebookJSON): INotebookParameter[] {
  const cell = notebook.cells.find(c => {
    const tags = (c.metadata ?? {})['tags'];
    return Array.isArray(tags) && tags.includes('parameters');
  });
  if (!cell) {
    return [];
  }
  const source = cellSource((cell as { source?: unknown }).source);
  const found = new Map<string, INotebookParameter>();
  for (const line of source.split('\n')) {
    const match =
      /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*[^=]+)?=\s*(.+?)\s*$/.exec(line);
    if (!match) {
      continue;
    }
    const literal = stripComment(match[2]);
    if (literal && parseLiteral(literal) !== undefined) {
      found.set(match[1], { name: match[1], literal });
    }
  }
  return [...found.values()];
}

/**
 * `text` without a trailing `# comment` (a `#` inside quotes is kept).
 */
function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') {
        i++;
      } else if (c === quote) {
        quote = null;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#') {
      return text.slice(0, i).trim();
    }
  }
  return text.trim();
}

/**
 * The JSON value of a simple Python literal: numbers, strings (single or
 * double quotes, with the escapes JSON knows and `\'`), `True`, `False`,
 * `None`, and lists or dicts of those (trailing commas allowed).
 *
 * @returns The value, or `undefined` when `text` is not such a literal.
 */
export function parseLiteral(text: string): ParameterValue | undefined {
  const trimmed = text.trim();
  if (trimmed === 'True') {
    return true;
  }
  if (trimmed === 'False') {
    return false;
  }
  if (trimmed === 'None') {
    return null;
  }
  if (/^[-+]?(\d[\d_]*\.?\d*([eE][-+]?\d+)?|\.\d+)$/.test(trimmed)) {
    return Number(trimmed.replace(/_/g, ''));
  }
  const json = /^[[{"']/.test(trimmed) ? pythonToJSON(trimmed) : undefined;
  if (json === undefined) {
    return undefined;
  }
  try {
    return JSON.parse(json) as ParameterValue;
  } catch {
    return undefined;
  }
}

/**
 * Python's `True`/`False`/`None`, single-quoted strings (and `\'` in any
 * string) and trailing commas as JSON; undefined for an unterminated string.
 */
function pythonToJSON(text: string): string | undefined {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') {
        const escaped = text[i + 1];
        if (escaped === undefined) {
          return undefined;
        }
        out += escaped === "'" ? "'" : c + escaped;
        i++;
      } else if (c === quote) {
        out += '"';
        quote = null;
      } else if (c === '"' && quote === "'") {
        out += '\\"';
      } else {
        out += c;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
      out += '"';
    } else if (
      c === ',' &&
      /^\s*[\]}]/.test(text.slice(i + 1)) &&
      !/[[{,]\s*$/.test(out)
    ) {
      // a trailing comma after a value, which Python allows and JSON does not
    } else {
      const rest = text.slice(i);
      const word = /^(True|False|None)\b/.exec(rest);
      if (word) {
        out += { True: 'true', False: 'false', None: 'null' }[word[1]];
        i += word[1].length - 1;
      } else {
        out += c;
      }
    }
  }
  return quote === null ? out : undefined;
}

/**
 * A JSON value as the Python literal a user would type.
 */
export function toLiteral(value: ParameterValue): string {
  if (value === null) {
    return 'None';
  }
  if (value === true) {
    return 'True';
  }
  if (value === false) {
    return 'False';
  }
  if (typeof value === 'number') {
    return String(value);
  }
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(toLiteral).join(', ')}]`;
  }
  const entries = Object.entries(value).map(
    ([key, item]) => `${JSON.stringify(key)}: ${toLiteral(item)}`
  );
  return `{${entries.join(', ')}}`;
}
