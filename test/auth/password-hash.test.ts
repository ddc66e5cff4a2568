import { describe, expect, it } from "vitest";
import { hashPassword, parsePasswordHash, verifyPassword } from "../../src/auth/password-hash.js";

const CHEAP = { ln: 10, r: 8, p: 1 };

describe("scrypt password hashes", () => {
  it("verify the password they were made from, and no other", async () => {
    const encoded = await hashPassword("correct horse", CHEAP);
    expect(encoded).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    const hash = parsePasswordHash(encoded);
    expect(await verifyPassword("correct horse", hash)).toBe(true);
    expect(await verifyPassword("correct horse ", hash)).toBe(false);
  });

  it("use a fresh salt each time", async () => {
    expect(await hashPassword("same", CHEAP)).not.toBe(await hashPassword("same", CHEAP));
  });

  it.each([
    ["not a hash", "hunter2", /is not a \$scrypt/],
    ["a cost below the floor", "$scrypt$ln=4,r=8,p=1$c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5", /ln=4, outside 10..20/],
    ["a cost above the ceiling", "$scrypt$ln=30,r=8,p=1$c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5", /ln=30, outside/],
    ["a key too short", "$scrypt$ln=10,r=8,p=1$c2FsdA==$a2V5", /shorter than 16 bytes/],
  ])("refuse %s, without quoting it", (_name, encoded, message) => {
    expect(() => parsePasswordHash(encoded)).toThrow(message);
    try {
      parsePasswordHash(encoded);
    } catch (err) {
      expect((err as Error).message).not.toContain(encoded);
    }
  });
});
