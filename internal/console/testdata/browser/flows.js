// flows.js drives Debian's Chromium through the console as a new user
// would, for cmd/faxgate's TestConsoleBrowser. Settings come from the
// environment: BASE_URL, ADMIN_KEY, FAIL_URL, OK_URL, SHOTS (a directory).
// It exits non-zero, naming the step, when a flow does not go as it must.
"use strict";
const { chromium } = require("playwright-core");
const path = require("path");

const base = process.env.BASE_URL;
const shots = process.env.SHOTS;
const step = (name) => console.log("step: " + name);

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// shot saves a screenshot of the page, after checking that every control
// on it has a label a screen reader can announce.
async function shot(page, name) {
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea, button"))
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !(el.textContent || "").trim())
      .map((el) => el.outerHTML.slice(0, 80)));
  check(unlabelled.length === 0, name + ": controls without a label: " + unlabelled.join(", "));
  await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
}

async function signIn(page, key) {
  await page.goto(base + "/console/");
  check(page.url().includes("/console/sign-in"), "an anonymous visit did not land on the sign-in page: " + page.url());
  // By keyboard: the key field has focus (autofocus, which a loaded
  // browser may apply a moment after the load), Enter submits.
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === "key");
  await page.keyboard.type(key);
  await page.keyboard.press("Enter");
  try {
    await page.waitForURL((u) => !u.pathname.endsWith("/sign-in"));
  } catch (e) {
    const text = (await page.textContent("body").catch(() => "")) || "";
    throw new Error("sign-in stayed on " + page.url() + ": " + text.replace(/\s+/g, " ").slice(0, 300));
  }
}

// reloadUntil reloads the page until fn(page) holds, for states that the
// gateway's workers reach on their own time.
async function reloadUntil(page, fn, what) {
  for (let i = 0; i < 60; i++) {
    if (await fn(page)) return;
    await page.waitForTimeout(500);
    await page.reload();
  }
  throw new Error("timed out waiting for " + what);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run"],
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "Australia/Sydney" });
    const page = await ctx.newPage();
    const cspViolations = [];
    page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });

    step("sign in");
    await page.goto(base + "/console/sign-in");
    await shot(page, "sign-in");
    await signIn(page, process.env.ADMIN_KEY);
    check(page.url().includes("/console/faxes"), "signed in but landed on " + page.url());
    await page.keyboard.press("Tab");
    check(await page.evaluate(() => document.activeElement.textContent) === "Skip to content", "Tab does not reach the skip link first");
    await page.keyboard.press("Tab");
    check(await page.evaluate(() => document.activeElement.tagName) === "A", "Tab does not move on to the menu");

    step("send a text document and watch it reach sent");
    await page.getByRole("link", { name: "Send" }).click();
    await page.getByLabel(/^To/).fill("+15551234567");
    await page.getByLabel(/^Document/).setInputFiles({ name: "referral.txt", mimeType: "text/plain", buffer: Buffer.from("Referral for Jane Doe\nPlease see attached notes.\n") });
    await page.getByLabel(/^Header text/).fill("Clinic front desk");
    await shot(page, "send");
    await page.getByRole("button", { name: "Send fax" }).click();
    await page.waitForURL(/\/console\/faxes\/fax_/);
    const sentURL = page.url().split("?")[0];
    // The status changes in place: no reload.
    await page.locator("dd [data-status]").filter({ hasText: "sent" }).waitFor({ timeout: 30000 });
    const times = await page.locator("time[datetime]").first().getAttribute("title");
    check(times && times.endsWith("Z"), "times are not turned into the viewer's zone");
    await shot(page, "fax-sent");
    await page.goto(base + "/console/faxes?direction=outbound");
    await shot(page, "outbox");

    step("receive through the simulator and see the PDF preview");
    await page.getByRole("link", { name: "Inbox" }).click();
    const pdf = page.waitForResponse((r) => r.url().includes("/document?inline=1"));
    await page.getByRole("button", { name: /Receive a test fax/ }).click();
    await page.waitForURL(/\/console\/faxes\/fax_/);
    const doc = await pdf;
    check(doc.status() === 200, "the preview answered " + doc.status());
    check((doc.headers()["content-type"] || "").startsWith("application/pdf"), "the preview is not a PDF: " + doc.headers()["content-type"]);
    check((doc.headers()["content-disposition"] || "").startsWith("inline"), "the preview is not inline");
    check(await page.locator("iframe.preview").count() === 1, "no preview frame");
    await page.waitForTimeout(500);
    await shot(page, "fax-received");
    await page.goto(base + "/console/faxes?direction=inbound");
    await shot(page, "inbox");

    step("create an endpoint that fails, see failed attempts, fix the URL and retry");
    await page.getByRole("link", { name: "Endpoints" }).click();
    await page.getByLabel("URL").fill(process.env.FAIL_URL);
    await page.getByLabel("Description").fill("Practice system");
    await page.getByRole("button", { name: "Create endpoint" }).click();
    const secret = await page.locator("[data-secret]").textContent();
    check(/^whsec_/.test(secret.trim()), "the new endpoint's secret is not shown once: " + secret);
    await shot(page, "endpoint-created");
    await page.getByRole("link", { name: "Open the endpoint" }).click();
    const endpointURL = page.url();
    check(!(await page.content()).includes(secret.trim()), "the endpoint's secret is rendered again");
    await page.getByRole("button", { name: "Send a test event" }).click();
    await page.getByRole("link", { name: "Deliveries" }).first().click();
    await reloadUntil(page, async (p) => (await p.locator("tbody tr td:nth-child(4)").first().textContent().catch(() => "0")).trim() !== "0", "a failed attempt");
    await page.locator("tbody a.mono").first().click();
    const deliveryURL = page.url();
    await page.locator("td", { hasText: "500" }).first().waitFor();
    check((await page.content()).includes("upstream down"), "the attempt's response snippet is not shown");
    await shot(page, "delivery-failed");
    await page.goto(endpointURL);
    await page.getByLabel("URL").fill(process.env.OK_URL);
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("The endpoint was saved.").waitFor();
    await shot(page, "endpoint");
    await page.goto(deliveryURL);
    await page.getByRole("button", { name: "Retry now" }).click();
    await reloadUntil(page, async (p) => (await p.locator("dd .status").first().textContent()).trim() === "succeeded", "the retried delivery to succeed");
    await shot(page, "delivery-succeeded");
    await page.goto(base + "/console/deliveries");
    await shot(page, "deliveries");
    await page.goto(base + "/console/endpoints");
    await shot(page, "endpoints");

    step("API keys: create a read-only key, shown once");
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("Name").fill("front desk (read only)");
    await page.getByLabel("fax:read").check();
    await page.getByRole("button", { name: "Create key" }).click();
    const roKey = (await page.locator("[data-secret]").textContent()).trim();
    check(/^fgk_/.test(roKey), "the new key is not shown once");
    await shot(page, "keys");

    step("a forged form post without the CSRF token is refused");
    const forged = await page.evaluate(async () => {
      const r = await fetch("/console/keys", { method: "POST", body: new URLSearchParams({ name: "forged", scopes: "fax:read" }) });
      return r.status;
    });
    check(forged === 403, "a post without the CSRF token got " + forged);
    const forgedCancel = await page.evaluate(async (u) => {
      const r = await fetch(u + "/cancel", { method: "POST", body: new URLSearchParams({ csrf: "0".repeat(64) }) });
      return r.status;
    }, sentURL.replace(base, ""));
    check(forgedCancel === 403, "a post with a wrong CSRF token got " + forgedCancel);

    await page.goto(base + "/console/audit");
    check((await page.content()).includes("console.sign_in"), "the sign-in is not in the audit trail");
    await shot(page, "audit");
    await page.goto(base + "/console/health");
    check((await page.content()).includes("ready"), "the health page does not say ready");
    await shot(page, "health");

    step("sign out ends the session");
    const before = (await ctx.cookies()).find((c) => c.name === "faxgate_console");
    check(before && before.httpOnly && before.sameSite === "Strict", "the session cookie is not HttpOnly and SameSite=Strict");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/sign-in/);
    await ctx.addCookies([before]);
    await page.goto(base + "/console/faxes");
    check(page.url().includes("/console/sign-in"), "the signed-out session still works: " + page.url());

    step("a read-only key sees no send or delete controls");
    await signIn(page, roKey);
    const nav = await page.locator("header nav").textContent();
    check(!/Send|Endpoints|API keys/.test(nav), "a read-only key's menu offers " + nav);
    await page.goto(sentURL);
    for (const name of ["Cancel fax", "Send again", "Delete", "Revoke"]) {
      check(await page.getByRole("button", { name }).count() === 0, "a read-only key sees " + name);
    }
    await page.goto(base + "/console/faxes?direction=inbound");
    check(await page.getByRole("button", { name: /Receive/ }).count() === 0, "a read-only key sees the receive button");
    const sendPage = await page.goto(base + "/console/send");
    check(sendPage.status() === 403, "a read-only key's send page answered " + sendPage.status());
    check(await page.getByRole("button", { name: "Send fax" }).count() === 0, "a read-only key sees the send form");
    await page.goto(base + "/console/keys");
    check(await page.getByRole("button", { name: "Create key" }).count() === 0, "a read-only key sees the key form");
    await shot(page, "read-only-refused");
    await page.goto(base + "/console/faxes?direction=outbound");
    await shot(page, "outbox-read-only");

    step("readable at 390 px");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "outbox-390");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    check(!overflow, "the outbox scrolls sideways at 390 px");
    await page.goto(sentURL);
    await shot(page, "fax-390");

    check(cspViolations.length === 0, "CSP violations: " + cspViolations.join("; "));
    console.log("ok");
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
