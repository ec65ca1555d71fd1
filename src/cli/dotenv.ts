import { InputError } from "../common/errors.js";

/**
 * Parses a dotenv file (`KEY=VALUE` lines): blank lines and `#` comments are skipped, an
 * optional `export ` prefix is allowed, values may be single- or double-quoted (double quotes
 * understand `\n`, `\"` and `\\`), and a bad line is an error naming `file:line`.
 */
export function parseDotenv(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new InputError(`${file}:${index + 1}: expected KEY=VALUE`);
    const key = m[1] as string;
    let value = m[2] as string;
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1).replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
    } else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1);
    } else {
      value = value.replace(/\s+#.*$/, "");
    }
    out[key] = value;
  });
  return out;
}
