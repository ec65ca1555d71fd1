/**
 * What every masked span of text becomes, as in GitHub's logs.
 */
export const MASK = "***";

/**
 * How long a partial line (text after the last newline) a {@link MaskingStream} holds back
 * before it emits most of it anyway: 64 KiB, counted in UTF-16 code units.
 */
export const HOLD_LIMIT = 64 * 1024;

// GitHub does not mask one-character secrets: they would hide every occurrence of a letter.
const MIN_FORM_LENGTH = 2;

/** A span of text `[start, end)` (0-based, UTF-16 offsets) that masking replaces. */
export interface MaskSpan {
  readonly start: number;
  readonly end: number;
}

/**
 * The secret values of a run and the forms they may take in logs, and their masking. Pure.
 *
 * A secret is registered with its lines (for multi-line values) and the encodings a step is
 * likely to print it in: JSON string escaping, URL encoding, HTML escaping, base64 at each
 * of the three byte alignments, and a workflow command's escaping of data and properties.
 * Every registered string is a "form"; masking replaces each occurrence of a form, merging
 * overlapping occurrences into a single {@link MASK}.
 */
export class SecretMasker {
  readonly #forms = new Set<string>();
  #maxLength = 0;
  // Undefined when no form was added since the last build, so masking stays one regex scan.
  #regex: RegExp | undefined;

  /**
   * Registers `secret` and its derived forms. Values shorter than 2 characters are ignored.
   * A multi-line value is registered whole and line by line (a trailing `\r` dropped, lines
   * shorter than 2 characters skipped), each with its derived forms. Adding a value twice is
   * harmless.
   */
  add(secret: string): void {
    if (secret.length < MIN_FORM_LENGTH) return;
    const values = [secret];
    if (secret.includes("\n")) {
      for (const line of secret.split("\n")) {
        values.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      }
    }
    for (const value of values) {
      if (value.length < MIN_FORM_LENGTH) continue;
      this.#register(value);
      for (const form of derivedForms(value)) this.#register(form);
    }
  }

  /** The number of registered forms (values, lines and their encodings, without repeats). */
  get size(): number {
    return this.#forms.size;
  }

  /** The length of the longest registered form, 0 when there is none. */
  get maxLength(): number {
    return this.#maxLength;
  }

  /** Whether `value` is a registered form: a secret, one of its lines, or an encoding. */
  has(value: string): boolean {
    return this.#forms.has(value);
  }

  /**
   * The spans of `text` that {@link mask} replaces, in order and not overlapping: every
   * occurrence of every form, occurrences that overlap merged into one span (adjacent ones
   * are not merged).
   */
  findSpans(text: string): MaskSpan[] {
    if (this.#forms.size === 0) return [];
    const regex = this.#compile();
    const spans: MaskSpan[] = [];
    let start = -1;
    let end = -1;
    regex.lastIndex = 0;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      // Forms are tried longest first, so this is the longest occurrence starting here.
      const matchEnd = m.index + m[0].length;
      if (m.index < end) {
        end = Math.max(end, matchEnd);
      } else {
        if (end !== -1) spans.push({ start, end });
        start = m.index;
        end = matchEnd;
      }
      // Resume one character later, not after the match: a form that starts inside this
      // occurrence and runs past its end must widen the span, or its tail would show.
      regex.lastIndex = m.index + 1;
    }
    if (end !== -1) spans.push({ start, end });
    return spans;
  }

  /**
   * `text` with every occurrence of every registered form replaced by {@link MASK}; a run of
   * overlapping occurrences becomes one mask. Returns `text` itself when nothing matches.
   */
  mask(text: string): string {
    if (this.#forms.size === 0) return text;
    const spans = this.findSpans(text);
    if (spans.length === 0) return text;
    let out = "";
    let pos = 0;
    for (const span of spans) {
      out += text.slice(pos, span.start) + MASK;
      pos = span.end;
    }
    return out + text.slice(pos);
  }

  #register(form: string): void {
    if (form.length < MIN_FORM_LENGTH || this.#forms.has(form)) return;
    this.#forms.add(form);
    this.#maxLength = Math.max(this.#maxLength, form.length);
    this.#regex = undefined;
  }

  #compile(): RegExp {
    if (this.#regex === undefined) {
      // Alternatives are tried in order, so longest first makes a form that contains another
      // win over it at the same position.
      const forms = [...this.#forms].sort((a, b) => b.length - a.length);
      this.#regex = new RegExp(forms.map(escapeRegExp).join("|"), "g");
    }
    return this.#regex;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

function derivedForms(value: string): string[] {
  const forms = [JSON.stringify(value).slice(1, -1), escapeHtml(value)];
  try {
    forms.push(encodeURIComponent(value));
  } catch {
    // A lone surrogate has no URL encoding (URIError), so no step can print one.
  }
  forms.push(...base64Forms(value));
  // As a workflow command escapes it (actions/toolkit's escapeData and escapeProperty): a
  // command line is shown as printed when it is echoed or while ::stop-commands:: is on.
  const data = value.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
  forms.push(data, data.replaceAll(":", "%3A").replaceAll(",", "%2C"));
  return forms;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      default:
        return "&#39;";
    }
  });
}

/**
 * The base64 of `value`'s UTF-8 bytes as printed alone (with padding), and for each of the
 * three alignments the value's bytes can have inside a longer encoded buffer, the characters
 * that depend on the value's bytes only.
 */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  const forms = [bytes.toString("base64")];
  for (const shift of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString("base64");
    // Character i carries bits [6i, 6i + 6) of the buffer; the value owns bits
    // [8 * shift, 8 * (shift + length)). Characters straddling either end depend on unknown
    // neighbouring bytes, and padding depends on where the buffer ends.
    const first = Math.ceil((8 * shift) / 6);
    const end = Math.floor((8 * (shift + bytes.length)) / 6);
    forms.push(encoded.slice(first, end));
  }
  return forms;
}

/**
 * Masks output that arrives in chunks of any size (a child process' stdout, say) and passes
 * it on to `emit`, so that a secret split between chunks is still masked.
 *
 * Guarantees:
 * - Prompt lines: a write that contains a newline emits, before it returns, everything up to
 *   and including its last newline. Only the partial line after it is held back, until a
 *   later write or {@link flush}.
 * - Bounded memory: when the held partial line grows past {@link HOLD_LIMIT}, all of it but
 *   its last `masker.maxLength - 1` characters is emitted; a form that may still be completed
 *   by later chunks starts inside that held tail. An occurrence cut there is emitted as
 *   {@link MASK} once, and what remains of it (with anything overlapping it) is never shown.
 * - Masking: the concatenated output equals `masker.mask` of the concatenated input, and so
 *   holds no registered form, provided that no occurrence is cut at a newline before it is
 *   complete. Multi-line secrets meet this because each of their lines is registered too;
 *   only their lines shorter than 2 characters, which are never masked, show.
 *
 * Text is masked with the secrets registered when it is emitted; text emitted before a
 * secret is added stays as it was.
 */
export class MaskingStream {
  readonly #masker: SecretMasker;
  readonly #emit: (text: string) => void;
  #held = "";
  // The first #covered characters of #held belong to an occurrence already emitted as MASK.
  #covered = 0;

  /** A stream that masks with `masker` (read at each emission) and emits through `emit`. */
  constructor(masker: SecretMasker, emit: (text: string) => void) {
    this.#masker = masker;
    this.#emit = emit;
  }

  /** Takes the next chunk; emits complete lines now and, past the hold limit, most of the rest. */
  write(chunk: string): void {
    if (chunk.length === 0) return;
    const heldBefore = this.#held.length;
    this.#held += chunk;
    const newline = chunk.lastIndexOf("\n");
    if (newline !== -1) this.#release(heldBefore + newline + 1);
    if (this.#held.length > HOLD_LIMIT) {
      this.#release(this.#held.length - Math.max(this.#masker.maxLength - 1, 0));
    }
  }

  /** Emits everything held, masked. The stream can be written to again afterwards. */
  flush(): void {
    this.#release(this.#held.length);
  }

  /** Emits the first `cut` characters held, masked with all of the held text in view. */
  #release(cut: number): void {
    if (cut <= 0) return;
    const text = this.#held;
    const spans: { start: number; end: number; shown: boolean }[] = [];
    if (this.#covered > 0) spans.push({ start: 0, end: this.#covered, shown: true });
    for (const span of this.#masker.findSpans(text)) {
      const last = spans[spans.length - 1];
      if (last !== undefined && span.start < last.end) last.end = Math.max(last.end, span.end);
      else spans.push({ ...span, shown: false });
    }
    let out = "";
    let pos = 0;
    let covered = 0;
    for (const span of spans) {
      if (span.start >= cut) break;
      out += text.slice(pos, span.start);
      if (!span.shown) out += MASK;
      if (span.end > cut) {
        covered = span.end - cut;
        pos = cut;
        break;
      }
      pos = span.end;
    }
    out += text.slice(pos, cut);
    this.#held = text.slice(cut);
    this.#covered = covered;
    if (out.length > 0) this.#emit(out);
  }
}
