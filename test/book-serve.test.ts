/**
 * The book's server (`npm run book:serve`) answers bad requests with an error status and keeps
 * serving: a malformed %-escape such as "/%" or "/%E0%A4%A" once threw an uncaught URIError that
 * stopped it. Serves a small folder of its own (the full book, in a browser, is test/book.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

interface Book {
  serve(dir: string, port: number): Promise<http.Server>;
}

/** GET with the path sent exactly as given (no normalisation or re-encoding). */
function get(port: number, rawPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: rawPath, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to GET ${rawPath} in 5 s (is the server still up?)`)));
    req.end();
  });
}

describe("the book server", () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), "ta-serve-"));
  const dir = path.join(parent, "book");
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    fs.mkdirSync(path.join(dir, "assets"), { recursive: true });
    fs.writeFileSync(path.join(dir, "index.html"), "<p>the index</p>");
    fs.writeFileSync(path.join(dir, "assets", "ünïcode.css"), "p { color: red }");
    fs.writeFileSync(path.join(parent, "secret.txt"), "outside the book");
    const book = (await import(path.join(ROOT, "scripts", "book.mjs"))) as Book;
    server = await book.serve(dir, 0);
    const address = server.address();
    if (!address || typeof address === "string") throw new Error("no server address");
    port = address.port;
  });

  afterAll(() => {
    server?.close();
    fs.rmSync(parent, { recursive: true, force: true });
  });

  it("answers 400 to malformed %-escapes and goes on serving", async () => {
    for (const bad of ["/%", "/%E0%A4%A", "/%zz", "/assets/%C3", "/index.html%"]) {
      const r = await get(port, bad);
      expect(r.status, bad).toBe(400);
      expect(r.body).toBe("bad request");
    }
    expect(server.listening).toBe(true);
    const index = await get(port, "/");
    expect(index).toEqual({ status: 200, body: "<p>the index</p>" });
  });

  it("still serves files, decodes good escapes, and refuses paths outside its folder", async () => {
    expect(await get(port, "/index.html")).toEqual({ status: 200, body: "<p>the index</p>" });
    expect(await get(port, `/assets/${encodeURIComponent("ünïcode.css")}`)).toEqual({ status: 200, body: "p { color: red }" });
    for (const outside of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/%00"]) {
      const r = await get(port, outside);
      expect(r.status, outside).toBe(404);
      expect(r.body).not.toContain("outside the book");
    }
    expect((await get(port, "/missing.html")).status).toBe(404);
  });
});
