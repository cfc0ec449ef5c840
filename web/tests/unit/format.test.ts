// Formatting helpers of the pages.
import { describe, expect, it } from "vitest";
import { auditQuery, exercisePart, outcomeLabel, percent } from "../../src/format";
import { score } from "../../src/ui";

describe("formatting", () => {
  it("percent rounds a fraction and shows a dash for nothing", () => {
    expect(percent(0.666)).toBe("67 %");
    expect(percent(1)).toBe("100 %");
    expect(percent(0)).toBe("0 %");
    expect(percent(null)).toBe("—");
    expect(percent(NaN)).toBe("—");
  });
  it("score keeps whole numbers whole and rounds the others to one decimal", () => {
    expect(score(2, 2)).toBe("2 / 2");
    expect(score(1.25, 3)).toBe("1.3 / 3");
  });
  it("outcomeLabel names audit outcomes", () => {
    expect(outcomeLabel("ok")).toBe("succeeded");
    expect(outcomeLabel("denied")).toBe("refused");
    expect(outcomeLabel("failed")).toBe("failed");
    expect(outcomeLabel("other")).toBe("other");
  });
  it("auditQuery leaves empty filters out and encodes values", () => {
    expect(auditQuery({ actor: "", action: "exercise.", after: "", limit: 50 })).toBe("action=exercise.&limit=50");
    expect(auditQuery({ object_id: "a b&c" })).toBe("object_id=a%20b%26c");
  });
  it("exercisePart recognizes an exercise folder's files by name", () => {
    expect(exercisePart("vpcs-addressing/exercise.yaml")).toBe("spec");
    expect(exercisePart("Topology.yml")).toBe("topology");
    expect(exercisePart("a/b/instructions.md")).toBe("instructions");
    expect(exercisePart("inventory.yaml")).toBeNull();
    expect(exercisePart("r1.conf")).toBeNull();
  });
});
