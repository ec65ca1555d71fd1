/**
 * What is wrong with a platform mapping (`label` to `host` or an image reference), or
 * undefined when nothing is.
 */
export function platformProblem(label: string, value: string): string | undefined {
  if (!/^[A-Za-z0-9_.-]+$/.test(label)) return `'${label}' is not a runs-on label`;
  if (value === "") return "expected 'host' or a container image";
  if (/\s/.test(value)) return `'${value}' is not a container image`;
  return undefined;
}
