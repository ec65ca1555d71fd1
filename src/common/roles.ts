/** What a token may do, from most to least: each role can do what the ones after it can. */
export const ROLES = ["admin", "maintainer", "developer", "viewer"] as const;

/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/** Whether `role` is at least `needed`. */
export function allows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) <= ROLES.indexOf(needed);
}

/** Whether a text names one of {@link ROLES}. */
export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}
