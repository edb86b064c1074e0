import { z } from "zod";

/** The merge panel's request bodies, shared by the route handlers and the panel. */

// GitHub logins: alphanumerics and single hyphens, at most 39 characters.
export const GitHubLogin = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "a GitHub login");

const prNumber = z.number().int().positive();

export const ChecklistRequest = z.object({ pr: prNumber, maintainer: GitHubLogin });
export type ChecklistRequest = z.infer<typeof ChecklistRequest>;

export const MergeRequest = z.object({
  pr: prNumber,
  maintainer: GitHubLogin,
  /** Post an approving review (on the built SHA) before merging. */
  approve: z.boolean().default(true),
});
export type MergeRequest = z.infer<typeof MergeRequest>;

export const ResultCommentRequest = z.object({ pr: prNumber, maintainer: GitHubLogin });
export type ResultCommentRequest = z.infer<typeof ResultCommentRequest>;

export const DeviceLoginId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, "a sign-in id");
