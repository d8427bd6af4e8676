// A person in headless Chromium, with a virtual platform authenticator from the DevTools
// WebAuthn domain (CTAP2, resident keys, user verification on):
//   1. redeems a clinician invitation by creating a passkey;
//   2. signs in with it (the modal account picker) for a relying party's pushed
//      authorization request, approves the consent page, and lands on the client's
//      redirect URI with a code;
//   3. signs in again with autofill (conditional UI) for a second request;
//   4. adds a second passkey from the account page, and signs in with that one.
// The Rust test (tests/tests/browser.rs) starts the server, pushes the requests, runs this
// script and redeems the codes. Input: a JSON document as the only argument. Output: one
// JSON line with the redirect URLs the browser reached.
import { chromium } from "playwright-core";

const input = JSON.parse(process.argv[2]);
const { invitation, authorize, redirectPrefix, npi } = input;
const timeout = 20000;

function fail(message) {
  console.error(`browser test: ${message}`);
  process.exit(1);
}

async function virtualAuthenticator(cdp) {
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      ctap2Version: "ctap2_1",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

/// Navigate, retrying once if the previous navigation (to the unresolvable client) ends late.
async function go(page, url) {
  try {
    await page.goto(url);
  } catch (error) {
    if (!/interrupted by another navigation/.test(String(error))) throw error;
    await page.waitForTimeout(250);
    await page.goto(url);
  }
}

/// Follow one authorization request through sign-in and consent to the client's redirect URI.
async function authorizeWith(page, url, signIn) {
  // The redirect to the client is observed as a request: a redirect the browser follows
  // by itself is not always routed to page.route, and rp.example does not resolve.
  const reached = page.waitForRequest((r) => r.url().startsWith(redirectPrefix), { timeout });
  reached.catch(() => {});
  await go(page, url);
  await page.waitForURL(/\/login\?interaction=/, { timeout });
  await signIn();
  await Promise.race([page.waitForURL(/\/interaction\//, { timeout }), reached]);
  if (page.url().includes("/interaction/")) {
    const heading = await page.locator("h1").textContent();
    if (!/Allow/.test(heading)) fail(`expected the consent page, got "${heading}"`);
    await page.getByRole("button", { name: "Allow" }).click();
  }
  return (await reached).url();
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
  // The relying party's redirect URI does not exist: answer it in the browser.
  await page.route(`${redirectPrefix}**`, (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: "<p>relying party</p>" }));
  // The virtual authenticator answers a conditional (autofill) request by itself, as a
  // person picking the suggestion would. To exercise the modal button instead, a flag in
  // localStorage makes the page see a browser without autofill support.
  await context.addInitScript(() => {
    if (localStorage.getItem("modal-only") === "1" && window.PublicKeyCredential) {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    }
  });
  const modalOnly = (on) => page.evaluate((v) =>
    v ? localStorage.setItem("modal-only", "1") : localStorage.removeItem("modal-only"), on);
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const first = await virtualAuthenticator(cdp);

  // 1. Enrollment by invitation.
  await page.goto(invitation);
  await page.getByLabel("Your name").fill("Dr. Barbara McClintock");
  await page.getByLabel("Name for this passkey (optional)").fill("laptop");
  await page.getByRole("button", { name: "Create a passkey" }).click();
  await page.waitForURL(/\/account$/, { timeout });
  const account = await page.locator("main").textContent();
  if (!account.includes(npi)) fail(`account page lacks the NPI: ${account}`);
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId: first });
  if (credentials.length !== 1 || !credentials[0].isResidentCredential) {
    fail(`expected one discoverable credential, got ${JSON.stringify(credentials)}`);
  }

  // Cookies: __Host- prefix, Secure, HttpOnly.
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "__Host-glassgate-session");
  if (!session || !session.secure || !session.httpOnly || session.path !== "/") {
    fail(`session cookie: ${JSON.stringify(cookies)}`);
  }

  // 2. A new browser session; sign in with the modal picker.
  await modalOnly(true);
  await context.clearCookies();
  const modal = await authorizeWith(page, authorize[0], () =>
    page.getByRole("button", { name: "Sign in with a passkey" }).click());

  // 3. Conditional UI: the login page starts an autofill request on load, which the
  // virtual authenticator answers; no button is pressed.
  await context.clearCookies();
  await go(page, new URL("/login", invitation).href);
  await modalOnly(false);
  const conditional = await authorizeWith(page, authorize[1], async () => {});

  // 4. A second passkey on another authenticator, then sign in with it.
  await go(page, new URL("/account", invitation).href);
  await modalOnly(true);
  await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: first });
  const second = await virtualAuthenticator(cdp);
  await page.getByLabel("Name for a new passkey").fill("phone");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await page.waitForFunction(
    () => document.querySelectorAll("tbody tr").length === 2, null, { timeout });
  await context.clearCookies();
  const withSecond = await authorizeWith(page, authorize[2], () =>
    page.getByRole("button", { name: "Sign in with a passkey" }).click());
  const used = await cdp.send("WebAuthn.getCredentials", { authenticatorId: second });
  if (used.credentials.length !== 1 || used.credentials[0].signCount < 1) {
    fail(`the second passkey was not used: ${JSON.stringify(used.credentials)}`);
  }

  console.log(JSON.stringify({ reached: [modal, conditional, withSecond] }));
} catch (error) {
  const where = page ? `${page.url()}: ${await page.locator("body").textContent().catch(() => "")}` : "";
  fail(`${error.stack || error}\nat ${where}`);
} finally {
  await browser.close();
}
