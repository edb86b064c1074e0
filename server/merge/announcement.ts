import type { MergeView } from "./views";

/**
 * What the chat bot says when GitHub reports a merge. Chat follows the `merge-updated` event
 * (state "merged") the way it follows verdicts; a merge the server only learned of after a
 * restart is not emitted, so it is not announced twice.
 */
export function mergeAnnouncement(view: MergeView): string {
  const thanks = view.submitters.length > 0 ? ` Thanks ${view.submitters.join(", ")} for sending it!` : "";
  return `★ #${view.prNumber}${view.title ? ` ${view.title}` : ""} is merged into ${view.baseRef}: built on stage, approved by @${view.maintainer}.${thanks}`;
}
