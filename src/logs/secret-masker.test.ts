import { describe, expect, test } from "vitest";
import { HOLD_LIMIT, MASK, MaskingStream, SecretMasker } from "./secret-masker.js";

function maskerOf(...secrets: string[]): SecretMasker {
  const masker = new SecretMasker();
  for (const secret of secrets) masker.add(secret);
  return masker;
}

const JSON_SECRET = 'pa"ss\\word\nsecond-line';
const URL_SECRET = "a b&c/d=e";
const HTML_SECRET = `<tag a="1">&'x'`;

const MASKING: [name: string, secrets: string[], input: string, expected: string][] = [
  ["exact value", ["hunter22"], "password=hunter22;", "password=***;"],
  ["several times", ["hunter22"], "hunter22 hunter22,hunter22", "*** ***,***"],
  ["one-character secret", ["x"], "x marks the spot", "x marks the spot"],
  ["two-character secret", ["xy"], "xyz", "***z"],
  ["multi-line, whole", ["line-one\nline-two"], "<line-one\nline-two>", "<***>"],
  ["multi-line, each line", ["line-one\nline-two"], "line-two\nline-one", "***\n***"],
  ["multi-line, a line alone", ["line-one\nline-two"], "see line-two here", "see *** here"],
  ["multi-line, CRLF lines", ["first\r\nsecond"], "(first) (second)", "(***) (***)"],
  ["multi-line, short lines skipped", ["ab\nc\nde"], "c ab c de", "c *** c ***"],
  ["JSON-escaped", [JSON_SECRET], JSON.stringify({ token: JSON_SECRET }), `{"token":"${MASK}"}`],
  [
    "URL-encoded",
    [URL_SECRET],
    `https://h.test/?q=${encodeURIComponent(URL_SECRET)}&z=1`,
    "https://h.test/?q=***&z=1",
  ],
  [
    "HTML-escaped",
    [HTML_SECRET],
    "<p>&lt;tag a=&quot;1&quot;&gt;&amp;&#39;x&#39;</p>",
    "<p>***</p>",
  ],
  ["contained secret, short added first", ["abc", "abcdef"], "abcdef abc", "*** ***"],
  ["contained secret, long added first", ["abcdef", "abc"], "abcdef abc", "*** ***"],
  ["secret inside another", ["bcd", "abcde"], "abcde bcd", "*** ***"],
  ["secrets overlapping", ["abcd", "cdef"], "abcdef", "***"],
  ["overlapping run", ["aa"], "baaaab", "b***b"],
  ["adjacent occurrences", ["abc"], "abcabc", "******"],
  ["regex metacharacters", ["a.b*c(d)[e]"], "a.b*c(d)[e] axbbc(d)e", "*** axbbc(d)e"],
  ["more metacharacters", ["^x$|y+?{2}\\/-"], "1^x$|y+?{2}\\/-2 x", "1***2 x"],
  ["non-ASCII secret", ["pässwörd€"], "pw: pässwörd€.", "pw: ***."],
];

describe("SecretMasker.mask", () => {
  test.each(MASKING)("%s", (_name, secrets, input, expected) => {
    expect(maskerOf(...secrets).mask(input)).toBe(expected);
  });

  test("with no secrets returns the input itself", () => {
    const masker = new SecretMasker();
    const text = "nothing to hide";
    expect(masker.mask(text)).toBe(text);
    expect(masker.size).toBe(0);
    expect(masker.findSpans(text)).toEqual([]);
  });

  test("secrets added after masking take effect", () => {
    const masker = maskerOf("first-secret");
    expect(masker.mask("first-secret second-secret")).toBe("*** second-secret");
    masker.add("second-secret");
    expect(masker.mask("first-secret second-secret")).toBe("*** ***");
  });
});

describe("SecretMasker registration", () => {
  const FORMS: [name: string, secret: string, form: string, registered: boolean][] = [
    ["the value", "hunter22", "hunter22", true],
    ["a one-character value", "x", "x", false],
    ["each line", "line-one\r\nline-two", "line-one", true],
    ["the whole multi-line value", "line-one\r\nline-two", "line-one\r\nline-two", true],
    ["a line with its \\r", "line-one\r\nline-two", "line-one\r", false],
    ["a one-character line", "ab\nc", "c", false],
    ["the JSON-escaped form", 'a"b', 'a\\"b', true],
    ["the URL-encoded form", "a b", "a%20b", true],
    ["the HTML-escaped form", "a<b", "a&lt;b", true],
    ["the base64 form", "hunter22", Buffer.from("hunter22").toString("base64"), true],
    ["a line's base64 form", "ab\ncd", Buffer.from("cd").toString("base64"), true],
    ["a workflow command's data form", "a b:c%\nd", "a b:c%25%0Ad", true],
    ["a workflow command's property form", "a b:c,d%", "a b%3Ac%2Cd%25", true],
  ];

  test.each(FORMS)("registers %s: %j", (_name, secret, form, registered) => {
    expect(maskerOf(secret).has(form)).toBe(registered);
  });

  test("counts each form once", () => {
    const masker = maskerOf("hunter22");
    const size = masker.size;
    // The value, its base64 and the base64 parts of the three alignments; the JSON, URL,
    // HTML and workflow command forms equal the value and add nothing.
    expect(size).toBe(5);
    masker.add("hunter22");
    masker.add("x");
    expect(masker.size).toBe(size);
    expect(masker.maxLength).toBe(Buffer.from("hunter22").toString("base64").length);
  });
});

describe("SecretMasker: base64 at every alignment", () => {
  // Byte lengths 12, 13 and 14 give each remainder mod 3; the last one is UTF-8 multi-byte.
  const SECRETS = ["s3cr3t-v4lue", "s3cr3t-v4lue!", "s3cr3t-v4lue!?", "pässwörd€"];
  const PREFIXES = ["", "x", "xy", "xyz"];
  const SUFFIXES = ["", "!", "!?", "!?#"];
  const CASES = SECRETS.flatMap((secret) =>
    PREFIXES.flatMap((prefix) => SUFFIXES.map((suffix) => [secret, prefix, suffix] as const)),
  );

  test.each(CASES)("%j between %j and %j", (secret, prefix, suffix) => {
    const encoded = Buffer.from(prefix + secret + suffix).toString("base64");
    const masked = maskerOf(secret).mask(`data: ${encoded} end`);
    const token = masked.slice("data: ".length, -" end".length);
    const parts = token.split(MASK);
    expect(parts, masked).toHaveLength(2);
    const [left = "", right = ""] = parts;
    expect(encoded.startsWith(left) && encoded.endsWith(right)).toBe(true);
    // What shows is at most the characters that mix the secret's first or last bits with its
    // neighbours' (and those encoding the neighbours): the secret itself cannot be decoded.
    const prefixChars = Math.ceil((Buffer.byteLength(prefix) * 8) / 6);
    const suffixChars = encoded.length - Math.floor((Buffer.byteLength(prefix + secret) * 8) / 6);
    expect(left.length).toBeLessThanOrEqual(prefixChars);
    expect(right.length).toBeLessThanOrEqual(suffixChars);
    const shown = Buffer.concat([Buffer.from(left, "base64"), Buffer.from(right, "base64")]);
    expect(shown.includes(Buffer.from(secret))).toBe(false);
  });
});

/** Feeds `chunks` to a fresh stream, flushes it and returns what it emitted. */
function streamed(masker: SecretMasker, chunks: string[]): string {
  let out = "";
  const stream = new MaskingStream(masker, (text) => {
    out += text;
  });
  for (const chunk of chunks) stream.write(chunk);
  stream.flush();
  return out;
}

describe("MaskingStream: secrets split between writes", () => {
  const SECRET = "s3cr3t-value";
  const B64 = Buffer.from(SECRET).toString("base64");
  const TEXTS: [name: string, text: string][] = [
    ["a line", `before ${SECRET} after\n`],
    ["no newline", `before ${SECRET}`],
    ["several lines", `one\n${SECRET}\nthree ${SECRET}${SECRET}\n`],
    ["base64 form", `auth ${B64}\n`],
    ["overlapping secrets", "xx abcdef yy\n"],
  ];
  const masker = maskerOf(SECRET, "abcd", "cdef");

  test.each(TEXTS)("%s, two writes, every split", (_name, text) => {
    const expected = masker.mask(text);
    expect(expected).not.toBe(text);
    for (let i = 0; i <= text.length; i++) {
      const out = streamed(masker, [text.slice(0, i), text.slice(i)]);
      expect(out, `split at ${i}`).toBe(expected);
    }
  });

  test.each(TEXTS)("%s, three writes, every split", (_name, text) => {
    const expected = masker.mask(text);
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        const out = streamed(masker, [text.slice(0, i), text.slice(i, j), text.slice(j)]);
        expect(out, `split at ${i}, ${j}`).toBe(expected);
      }
    }
  });

  test("one character at a time", () => {
    const text = `a ${SECRET} b ${B64}`;
    expect(streamed(masker, [...text])).toBe("a *** b ***");
  });
});

describe("MaskingStream: when text is emitted", () => {
  // Each step writes a chunk (or flushes, for null) and states everything emitted so far.
  const STEPS: [name: string, steps: [chunk: string | null, emitted: string][]][] = [
    [
      "a complete line at once",
      [
        ["token hunter22\n", "token ***\n"],
        [null, "token ***\n"],
      ],
    ],
    [
      "up to the last newline",
      [
        ["one\ntwo\nthr", "one\ntwo\n"],
        ["ee\n", "one\ntwo\nthree\n"],
      ],
    ],
    [
      "a partial line held until flush",
      [
        ["tail hun", ""],
        ["ter22", ""],
        [null, "tail ***"],
      ],
    ],
    [
      "a held line completed by a later write",
      [
        ["key: hunt", ""],
        ["er22\nnext", "key: ***\n"],
        [null, "key: ***\nnext"],
      ],
    ],
  ];

  test.each(STEPS)("%s", (_name, steps) => {
    let out = "";
    const stream = new MaskingStream(maskerOf("hunter22"), (text) => {
      out += text;
    });
    for (const [chunk, emitted] of steps) {
      if (chunk === null) stream.flush();
      else stream.write(chunk);
      expect(out, JSON.stringify(chunk)).toBe(emitted);
    }
  });

  test("flush with nothing held emits nothing", () => {
    const emitted: string[] = [];
    const stream = new MaskingStream(maskerOf("hunter22"), (text) => emitted.push(text));
    stream.write("line\n");
    stream.flush();
    stream.flush();
    expect(emitted).toEqual(["line\n"]);
  });
});

describe("MaskingStream: lines longer than the hold limit", () => {
  const SECRET = "s3cr3t-value";
  const LONG = "x".repeat(HOLD_LIMIT + 100);

  test("emits most of the line and masks a secret at its end", () => {
    const masker = maskerOf(SECRET);
    let out = "";
    const stream = new MaskingStream(masker, (text) => {
      out += text;
    });
    stream.write(LONG + SECRET);
    expect(out.length).toBeGreaterThanOrEqual(LONG.length + SECRET.length - masker.maxLength);
    expect(LONG.startsWith(out)).toBe(true);
    stream.flush();
    expect(out).toBe(`${LONG}***`);
  });

  test("keeps memory bounded when no newline ever comes", () => {
    const masker = maskerOf(SECRET);
    let emitted = 0;
    const stream = new MaskingStream(masker, (text) => {
      emitted += text.length;
    });
    const chunk = "y".repeat(1000);
    for (let i = 0; i < 300; i++) stream.write(chunk);
    expect(emitted).toBeGreaterThanOrEqual(300 * 1000 - HOLD_LIMIT);
  });

  test("masks a secret split at every point near the cut", () => {
    const masker = maskerOf(SECRET);
    const text = `${LONG}${SECRET} and ${SECRET}`;
    const expected = `${LONG}*** and ***`;
    for (let i = LONG.length - 40; i <= text.length; i++) {
      expect(streamed(masker, [text.slice(0, i), text.slice(i)]), `split at ${i}`).toBe(expected);
    }
  });

  test("hides the rest of an occurrence cut by the limit, with a secret overlapping it", () => {
    // Six-byte secrets: the longest forms are their 8-character base64, so the limit holds
    // back 7 characters. Writing up to "abcdefgh" cuts after "a" of "abcdef"; "defghi" is only
    // completed by the next write and must not show past the mask already emitted.
    const masker = maskerOf("abcdef", "defghi");
    expect(masker.maxLength).toBe(8);
    const emitted: string[] = [];
    const stream = new MaskingStream(masker, (text) => emitted.push(text));
    stream.write(`${LONG}abcdefgh`);
    expect(emitted).toEqual([`${LONG}***`]);
    stream.write("i end\n");
    stream.flush();
    expect(emitted.join("")).toBe(`${LONG}*** end\n`);
    expect(masker.mask(`${LONG}abcdefghi end\n`)).toBe(emitted.join(""));
  });
});
