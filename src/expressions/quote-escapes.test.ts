import { expect, test } from "vitest";
import { evaluateExpression } from "./evaluate.js";

// @actions/expressions 0.3.61 turned only the first '' of a string literal into ' (its lexer
// used String.replace with a string); patches/ fixes it. Scripts often hold several quotes.
test("every escaped quote in a string literal is one quote", () => {
  expect(evaluateExpression("'a ''b'' ''c'''", {})).toBe("a 'b' 'c'");
  expect(evaluateExpression("format('it''s {0}''s', 'x')", {})).toBe("it's x's");
});
