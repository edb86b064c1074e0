import { EXPORT_TABLES, ShowExportSchema, type ExportTable, type ShowExport } from "./show-export-schema";

/**
 * One CSV file per table (RFC 4180: CRLF lines, fields with quotes, commas or line breaks quoted,
 * quotes doubled). Nicknames, PR titles and chat text are the audience's: a cell that starts like a
 * formula (= + - @, tab, CR) gets a leading ' so a spreadsheet shows it instead of running it.
 * Lists and objects are written as JSON text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text: string;
  if (typeof value === "string") text = FORMULA_START.test(value) ? `'${value}` : value;
  else if (typeof value === "number" || typeof value === "boolean") text = String(value);
  else text = JSON.stringify(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A table's columns, in the schema's order. */
export function columnsOf(table: ExportTable): string[] {
  return Object.keys(ShowExportSchema.shape[table].element.shape);
}

export function tableToCsv(data: ShowExport, table: ExportTable): string {
  const columns = columnsOf(table);
  const rows = (data[table] as Array<Record<string, unknown>>).map((row) => columns.map((c) => csvCell(row[c])).join(","));
  return [columns.join(","), ...rows].map((line) => `${line}\r\n`).join("");
}

export function toCsv(data: ShowExport): Record<ExportTable, string> {
  return Object.fromEntries(EXPORT_TABLES.map((table) => [table, tableToCsv(data, table)])) as Record<ExportTable, string>;
}
