import { z } from "zod";
import { AppError } from "../errors";

const prNumber = z.coerce.number().int().positive().max(10_000_000);
const id = z.coerce.number().int().positive();

/** Route params arrive as strings; these turn them into numbers or a 400 that says what is expected. */
export async function prParam(params: Promise<Record<string, string>>, key = "pr"): Promise<number> {
  const parsed = prNumber.safeParse((await params)[key]);
  if (!parsed.success) throw new AppError("bad_request", "A PR number is a positive whole number, like 427048.");
  return parsed.data;
}

export async function idParam(params: Promise<Record<string, string>>, key = "id"): Promise<number> {
  const parsed = id.safeParse((await params)[key]);
  if (!parsed.success) throw new AppError("bad_request", `The ${key} must be a positive whole number.`);
  return parsed.data;
}

export const deviceTokenSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, "a device token (16 to 64 letters, digits, - or _)");
