import type { StandInPullRequest } from "./types";

/**
 * `POST /graphql`. Operations are dispatched on the first top-level field of the document
 * (`enqueuePullRequest`, `enablePullRequestAutoMerge`, `repository`, …). Each operation the app
 * uses gets a resolver (the stand-in passes them to `answerGraphql`); anything else is answered
 * the way GitHub answers a field it does not know: HTTP 200 with an `errors` array, which
 * `octokit.graphql` throws as a GraphqlResponseError. This is not a GraphQL engine: resolvers
 * read their arguments with `graphqlArgument` and answer the fields the app selects.
 */
export interface GraphqlContext {
  repo: string;
  pullRequests(): StandInPullRequest[];
}

export interface GraphqlRequest {
  query: string;
  variables: Record<string, unknown>;
  operationType: "query" | "mutation";
  field: string;
}

export interface GraphqlError {
  type?: string;
  message: string;
  path?: string[];
  locations?: Array<{ line: number; column: number }>;
  extensions?: Record<string, unknown>;
}

export type GraphqlResponse = { data: Record<string, unknown> | null; errors?: GraphqlError[] } | { errors: GraphqlError[] };

export type GraphqlResolver = (request: GraphqlRequest, context: GraphqlContext) => Promise<GraphqlResponse>;

export type GraphqlParseResult = { ok: true; request: GraphqlRequest } | { ok: false; status: number; body: unknown };

export function parseGraphqlBody(raw: string): GraphqlParseResult {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return {
      ok: false,
      status: 400,
      body: { message: "Problems parsing JSON", documentation_url: "https://docs.github.com/graphql", status: "400" },
    };
  }
  const query = typeof body === "object" && body !== null && "query" in body ? body.query : undefined;
  if (typeof query !== "string" || query.trim() === "") {
    return { ok: true, request: { query: "", variables: {}, operationType: "query", field: "" } };
  }
  const rawVariables = (body as { variables?: unknown }).variables;
  const variables =
    typeof rawVariables === "object" && rawVariables !== null ? (rawVariables as Record<string, unknown>) : {};
  const withoutComments = query.replace(/#[^\n]*/g, "");
  const header = /^\s*(?:(query|mutation|subscription)\b[^{]*)?\{\s*(?:\w+\s*:\s*)?(\w+)/.exec(withoutComments);
  return {
    ok: true,
    request: {
      query,
      variables,
      operationType: header?.[1] === "mutation" ? "mutation" : "query",
      field: header?.[2] ?? "",
    },
  };
}

/**
 * The value of argument `name` anywhere in the document: a `$variable` (looked up in the
 * variables), a "string", a number, or an enum/boolean literal. Undefined when it is not there.
 */
export function graphqlArgument(request: GraphqlRequest, name: string): unknown {
  const withoutComments = request.query.replace(/#[^\n]*/g, "");
  const pattern = new RegExp(`[({,\\s]${name}\\s*:\\s*(?:\\$(\\w+)|"((?:[^"\\\\]|\\\\.)*)"|(-?\\d+)\\b|([A-Za-z_]\\w*))`);
  const match = pattern.exec(withoutComments);
  if (!match) return undefined;
  if (match[1] !== undefined) return request.variables[match[1]];
  if (match[2] !== undefined) return JSON.parse(`"${match[2]}"`) as string;
  if (match[3] !== undefined) return Number(match[3]);
  const literal = match[4];
  return literal === "true" ? true : literal === "false" ? false : literal === "null" ? null : literal;
}

export async function answerGraphql(
  request: GraphqlRequest,
  context: GraphqlContext,
  resolvers: Record<string, GraphqlResolver> = {},
): Promise<GraphqlResponse> {
  if (request.field === "") {
    return { errors: [{ message: "A query attribute must be specified and must be a string." }] };
  }
  const resolver = resolvers[request.field];
  if (resolver) return resolver(request, context);
  const typeName = request.operationType === "mutation" ? "Mutation" : "Query";
  return {
    errors: [
      {
        type: "NOT_IMPLEMENTED",
        path: [request.operationType, request.field],
        extensions: { code: "undefinedField", typeName, fieldName: request.field },
        message: `Field '${request.field}' doesn't exist on type '${typeName}' (the GitHub stand-in has no resolver for it)`,
      },
    ],
  };
}
