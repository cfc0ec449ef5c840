// Browser steps of the exercise editor's uploads (issues 10 and 11), run by browser.mjs after the teacher's
// pages: "Upload zip" creates an exercise from a zip of its folder (then a second upload versions it), a
// hostile zip is refused in the banner with the entry named, and "Upload GNS3 project" stores a
// .gns3project with the draft (listed with its size, downloadable). Each state gets axe and a screenshot.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// CRC-32 (IEEE) for the zip writer below.
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// A zip of stored (uncompressed) entries, written as given (the test needs names a zip tool would refuse).
export function makeZip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const nameBuf = Buffer.from(name, "utf8");
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, data);
    centrals.push(central, nameBuf);
    offset += 30 + nameBuf.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

export async function uploadSteps({ teacher, T, check, axe, shot, files }) {
  const examples = fileURLToPath(new URL("../../examples/", import.meta.url));
  const spec = files.spec.replace("id: web-vpcs", "id: web-zip").replace("title: Address PC1", "title: Zipped exercise");
  const zip = makeZip([
    ["web-zip/exercise.yaml", spec],
    ["web-zip/topology.yaml", files.topology],
    ["web-zip/instructions.md", files.instructions],
  ]);

  await teacher.getByRole("link", { name: "Exercises", exact: true }).click();
  await teacher.getByRole("link", { name: "New exercise" }).click();
  const zipInput = teacher.getByLabel(/Upload zip/);
  await zipInput.setInputFiles({ name: "web-zip.zip", mimeType: "application/zip", buffer: zip });
  await teacher.getByRole("heading", { name: "Zipped exercise" }).waitFor({ timeout: T });
  await teacher.getByRole("status").filter({ hasText: "Created version 1 of web-zip" }).waitFor({ timeout: T });
  // The editor loads the new exercise's version after its heading shows: wait for its files, then judge.
  const instructions = teacher.getByLabel("Instructions (Markdown)");
  const wanted = files.instructions;
  await teacher.waitForFunction(([el, text]) => el.value === text, [await instructions.elementHandle(), wanted], { timeout: T }).catch(() => {});
  check((await instructions.inputValue()) === wanted, "an uploaded zip creates the exercise with its files");
  await axe(teacher, "exercise editor after a zip upload");
  await shot(teacher, "teacher-exercise-zip");

  // The same exercise again: a new draft version. A hostile zip: refused, the entry named in the banner.
  await teacher.getByLabel(/Upload zip/).setInputFiles({ name: "web-zip.zip", mimeType: "application/zip", buffer: zip });
  await teacher.getByRole("status").filter({ hasText: "Added version 2 of web-zip" }).waitFor({ timeout: T });
  const v2 = teacher.locator('table.versions tr[data-version="2"]');
  await v2.waitFor({ timeout: T }).catch(() => {});
  check((await v2.count()) === 1, "a second upload of the zip adds version 2");
  const hostile = makeZip([["exercise.yaml", spec], ["../../etc/cron.d/evil", "x"]]);
  await teacher.getByLabel(/Upload zip/).setInputFiles({ name: "evil.zip", mimeType: "application/zip", buffer: hostile });
  const banner = teacher.getByRole("alert");
  await banner.filter({ hasText: "climbs out" }).waitFor({ timeout: T });
  check((await banner.textContent()).includes("../../etc/cron.d/evil"), "a hostile zip is refused with the entry named");

  // The draft's GNS3 project: uploaded, listed with its size, downloadable.
  const project = readFileSync(examples + "gns3-vpcs-router/gns3-vpcs-router.gns3project");
  await teacher.getByLabel(/Upload GNS3 project/).setInputFiles({ name: "router.gns3project", mimeType: "application/octet-stream", buffer: project });
  await teacher.getByRole("status").filter({ hasText: "Uploaded router.gns3project" }).waitFor({ timeout: T });
  const link = teacher.locator(".project").getByRole("link", { name: "router.gns3project" });
  await link.waitFor({ timeout: T });
  const href = await link.getAttribute("href");
  const size = await teacher.evaluate(async (h) => (await (await fetch(h)).arrayBuffer()).byteLength, href);
  check(size === project.length, `the uploaded project is stored with the draft and downloads whole (${size} bytes)`);
  await axe(teacher, "exercise editor with a GNS3 project");
  await shot(teacher, "teacher-exercise-project");
}
