// The API client's error mapping: problem+json documents, field errors, bodies that are not JSON.
import { describe, expect, it } from "vitest";
import { ApiError, toApiError } from "../../src/api";

describe("toApiError", () => {
  it("reads a problem document's title, detail and field errors", () => {
    const e = toApiError(400, "Bad Request", JSON.stringify({ title: "invalid", detail: "bad slug", errors: [{ path: "slug", message: "1-64 characters" }] }));
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(400);
    expect(e.title).toBe("invalid");
    expect(e.detail).toBe("bad slug");
    expect(e.field("slug")).toBe("1-64 characters");
    expect(e.field("title")).toBeUndefined();
    expect(e.message).toBe("bad slug");
  });
  it("finds a field's error under a nested path", () => {
    const e = toApiError(422, "", JSON.stringify({ title: "lint", errors: [{ path: "spec.checks[0].expect", message: "bad regex" }] }));
    expect(e.field("spec")).toBe("bad regex");
    expect(e.field("spe")).toBeUndefined();
  });
  it("keeps the status text and the start of a body that is not JSON", () => {
    const e = toApiError(502, "Bad Gateway", "<html>" + "x".repeat(500));
    expect(e.title).toBe("Bad Gateway");
    expect(e.detail.length).toBe(200);
    expect(e.fields).toEqual([]);
  });
  it("ignores malformed field errors and non-string titles", () => {
    const e = toApiError(400, "Bad Request", JSON.stringify({ title: 5, errors: [null, { message: "no path" }, { path: "name", message: "too long" }] }));
    expect(e.title).toBe("Bad Request");
    expect(e.fields).toEqual([{ path: "name", message: "too long" }]);
  });
  it("handles an empty body", () => {
    const e = toApiError(404, "Not Found", "");
    expect(e.title).toBe("Not Found");
    expect(e.detail).toBe("");
  });
});
