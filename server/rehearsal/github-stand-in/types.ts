export interface StandInPullRequest {
  number: number;
  title: string;
  author: string;
  state?: "open" | "closed";
  merged?: boolean;
  draft?: boolean;
  /** Defaults to "master". */
  baseRef?: string;
  labels?: string[];
  body?: string;
  /** A finished `PR` workflow run with a `comparison` artifact exists for the current head. */
  hasCiResults?: boolean;
  /** That artifact is past its retention: listed with `expired: true`, and its download answers 410. */
  ciArtifactExpired?: boolean;
  rebuildsByPlatform?: Record<string, string[]>;
}

export interface RecordedRequest {
  method: string;
  /** Path and query string as the client sent them. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
}

export interface InjectedResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON, strings as they are. */
  body?: unknown;
}

export interface FailureMatch {
  method?: string;
  /** Tested against the request's path and query string. */
  pathPattern: RegExp;
}
