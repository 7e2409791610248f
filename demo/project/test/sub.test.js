import assert from "node:assert";
import { test } from "node:test";
import { sub } from "../src/sub.js";

test("sub", () => assert.equal(sub(3, 2), 1));
