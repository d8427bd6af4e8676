// A patient in headless Chromium with no account: on the login page of a relying party's
// pushed authorization request, they choose "Verify with a mobile driver's licence"; the
// page shows a QR code, which the test suite's wallet (driven by tests/tests/browser.rs)
// answers; the page sees the verified result, the patient creates a passkey on a virtual
// authenticator, approves the consent page and lands on the client's redirect URI.
// Input: a JSON document as the only argument ({authorize, redirectPrefix, handoff}): the
// invocation URL is written to the `handoff` file for the wallet. Output: one JSON line.
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const { authorize, redirectPrefix, handoff } = JSON.parse(process.argv[2]);
const timeout = 30000;

function fail(message) {
  console.error(`browser test: ${message}`);
  process.exit(1);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
let page;
try {
  const context = await browser.newContext();
  page = await context.newPage();
  page.on("console", (m) => console.error(`page console: ${m.text()}`));
  await page.route(`${redirectPrefix}**`, (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: "<p>relying party</p>" }));
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", ctap2Version: "ctap2_1", transport: "internal",
      hasResidentKey: true, hasUserVerification: true, isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  const reached = page.waitForRequest((r) => r.url().startsWith(redirectPrefix), { timeout });
  reached.catch(() => {});
  await page.goto(authorize);
  await page.waitForURL(/\/login\?interaction=/, { timeout });
  await page.getByRole("button", { name: "Verify with a mobile driver's licence" }).click();
  const qr = page.getByRole("img", { name: "QR code to open your wallet app" });
  await qr.waitFor({ timeout });
  await page.waitForFunction(() => document.getElementById("mdl-qr").naturalWidth > 0, null, { timeout });
  const invocation = await page.getByRole("link", { name: "Open the wallet on this device" })
    .getAttribute("href");
  if (!invocation.startsWith("openid4vp://")) fail(`invocation link: ${invocation}`);
  writeFileSync(handoff, invocation);

  // The wallet answers; the page's poll sees the verified identity.
  await page.getByRole("button", { name: "Create a passkey" }).waitFor({ timeout });
  const said = await page.locator("#mdl-status").textContent();
  if (!/Identity verified, Jane/.test(said)) fail(`status after the wallet: ${said}`);
  await page.getByLabel("Name this passkey (optional)").fill("phone");
  await page.getByRole("button", { name: "Create a passkey" }).click();
  await page.waitForURL(/\/interaction\//, { timeout });
  await page.getByRole("button", { name: "Allow" }).click();
  const url = (await reached).url();
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  if (credentials.length !== 1 || !credentials[0].isResidentCredential) {
    fail(`expected one discoverable credential, got ${JSON.stringify(credentials)}`);
  }
  console.log(JSON.stringify({ reached: url }));
} catch (error) {
  const where = page ? `${page.url()}: ${await page.locator("body").textContent().catch(() => "")}` : "";
  fail(`${error.stack || error}\nat ${where}`);
} finally {
  await browser.close();
}
