// Glassgate: the WebAuthn calls of the sign-in, enrollment and account pages.
// No inline script (CSP script-src 'self'); page data comes from data-* attributes.
"use strict";

const b64url = {
  decode(s) {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "==".slice((2 - s.length * 3) & 3));
    return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
  },
  encode(buf) {
    let s = "";
    for (const x of new Uint8Array(buf)) s += String.fromCharCode(x);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

function status(text) {
  const el = document.getElementById("status");
  if (el) el.textContent = text;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
    credentials: "same-origin",
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(json.error_description || "The server refused the request.");
    error.code = json.error;
    throw error;
  }
  return json;
}

function requestOptions(publicKey) {
  if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
    return PublicKeyCredential.parseRequestOptionsFromJSON(publicKey);
  }
  return Object.assign({}, publicKey, {
    challenge: b64url.decode(publicKey.challenge),
    allowCredentials: (publicKey.allowCredentials || []).map((c) =>
      Object.assign({}, c, { id: b64url.decode(c.id) })),
  });
}

function creationOptions(publicKey) {
  if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
    return PublicKeyCredential.parseCreationOptionsFromJSON(publicKey);
  }
  return Object.assign({}, publicKey, {
    challenge: b64url.decode(publicKey.challenge),
    user: Object.assign({}, publicKey.user, { id: b64url.decode(publicKey.user.id) }),
    excludeCredentials: (publicKey.excludeCredentials || []).map((c) =>
      Object.assign({}, c, { id: b64url.decode(c.id) })),
  });
}

function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: b64url.encode(r.clientDataJSON) };
  if (r.attestationObject) response.attestationObject = b64url.encode(r.attestationObject);
  if (r.authenticatorData) response.authenticatorData = b64url.encode(r.authenticatorData);
  if (r.signature) response.signature = b64url.encode(r.signature);
  if (r.userHandle) response.userHandle = b64url.encode(r.userHandle);
  return {
    id: credential.id,
    rawId: b64url.encode(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

// --- sign-in -------------------------------------------------------------------------------
let conditional = null;

async function signIn(form, mediation) {
  const interaction = form.dataset.interaction || undefined;
  const { ceremony, options } = await post("/passkey/login/start");
  const request = { publicKey: requestOptions(options.publicKey) };
  if (mediation === "conditional") {
    conditional = new AbortController();
    request.mediation = "conditional";
    request.signal = conditional.signal;
  }
  const credential = await navigator.credentials.get(request);
  status("Checking your passkey…");
  const { next } = await post("/passkey/login/finish", {
    ceremony, credential: credentialJSON(credential), interaction,
  });
  window.location.assign(next);
}

async function setUpSignIn(form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (conditional) conditional.abort();
    status("Follow your browser's prompt to use your passkey.");
    signIn(form, "modal").catch(failed);
  });
  if (window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable &&
      await PublicKeyCredential.isConditionalMediationAvailable()) {
    signIn(form, "conditional").catch((e) => { if (e.name !== "AbortError") failed(e); });
  }
}

// --- registration --------------------------------------------------------------------------
async function register(startBody, name, interaction) {
  const { ceremony, options } = await post("/passkey/register/start", startBody);
  const credential = await navigator.credentials.create({
    publicKey: creationOptions(options.publicKey),
  });
  status("Saving your passkey…");
  const { next } = await post("/passkey/register/finish", {
    ceremony, credential: credentialJSON(credential), name, interaction,
  });
  window.location.assign(next);
}

function setUpEnrollment(form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status("Follow your browser's prompt to create a passkey.");
    const name = form.elements.name.value;
    register({
      invitation: form.dataset.invitation,
      display_name: form.elements.display_name.value,
    }, name).catch(failed);
  });
}

function setUpAddPasskey(form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status("Follow your browser's prompt to create a passkey.");
    register(null, form.elements.name.value).catch(failed);
  });
}

// --- identity proofing with a mobile driver's licence ---------------------------------------
function mdlStatus(text) {
  const el = document.getElementById("mdl-status");
  if (el) el.textContent = text;
}

function setUpIdentityProofing(section) {
  const interaction = section.dataset.interaction || undefined;
  const link = section.dataset.mode === "link";
  const start = document.getElementById("mdl-start");
  const fail = (error) => mdlStatus((error && error.message) || "Something went wrong. Try again.");
  start.addEventListener("click", () => {
    start.disabled = true;
    proveIdentity(interaction, link).catch(fail).finally(() => { start.disabled = false; });
  });
}

async function proveIdentity(interaction, link) {
  const started = await post("/mdl/start");
  const ticket = { transaction: started.transaction, poll: started.poll };
  document.getElementById("mdl-qr").src = started.qr_code;
  document.getElementById("mdl-same-device").href = started.invocation_url;
  document.getElementById("mdl-wallet").hidden = false;
  const digital = document.getElementById("mdl-digital");
  if (typeof window.DigitalCredential !== "undefined") {
    digital.hidden = false;
    digital.onclick = async () => {
      try {
        const credential = await navigator.credentials.get({ digital: started.digital, mediation: "required" });
        await post("/mdl/digital", Object.assign({}, ticket, {
          credential: { protocol: credential.protocol, data: credential.data },
        }));
      } catch (e) { mdlStatus(e.message); }
    };
  }
  mdlStatus("Waiting for your wallet…");
  const deadline = Date.now() + started.expires_in * 1000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const result = await post("/mdl/status", ticket);
    if (result.status === "pending") continue;
    document.getElementById("mdl-wallet").hidden = true;
    if (result.status === "refused") {
      mdlStatus("Your licence was not accepted: " + result.description);
      return;
    }
    if (link) {
      mdlStatus("Identity verified. Updating your account…");
      const { next } = await post("/account/identity", { identity_proof: ticket });
      window.location.assign(next);
      return;
    }
    mdlStatus(result.recovery
      ? `Welcome back, ${result.given_name}. Create a new passkey: your old passkeys will stop working.`
      : `Identity verified, ${result.given_name}. Create a passkey to finish creating your account.`);
    const form = document.getElementById("mdl-enroll");
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      mdlStatus("Follow your browser's prompt to create a passkey.");
      if (conditional) conditional.abort();
      register({ identity_proof: ticket }, form.elements.name.value, interaction)
        .catch((e) => mdlStatus(e.message));
    }, { once: true });
    return;
  }
  mdlStatus("The request expired. Start again.");
}

function failed(error) {
  if (error && error.name === "NotAllowedError") {
    status("The passkey prompt was closed or timed out. Try again.");
  } else {
    status((error && error.message) || "Something went wrong. Try again.");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const login = document.getElementById("passkey-login");
  if (login) setUpSignIn(login);
  const enroll = document.getElementById("passkey-enroll");
  if (enroll) setUpEnrollment(enroll);
  const add = document.getElementById("passkey-add");
  if (add) setUpAddPasskey(add);
  const proof = document.getElementById("mdl-proof");
  if (proof) setUpIdentityProofing(proof);
});
