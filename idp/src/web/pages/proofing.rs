//! The identity-proofing section of the login page (enroll or recover) and of the account
//! page (raise a signed-in account to IAL2). Its script is in `glassgate.js`.

use crate::web::html::escape;

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// Not signed in: the proof enrolls a new patient or recovers an account.
    Enroll,
    /// Signed in: the proof is attached to this account.
    Link,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Enroll => "enroll",
            Self::Link => "link",
        }
    }
}

/// Patients enroll by proving their identity with an mDL, then creating a passkey; an
/// account is recovered (or a licence linked to a signed-in account) only with a wallet the
/// browser itself calls (the Digital Credentials API), whose answer is bound to this origin.
/// A QR code can be relayed to someone else, so the cross-device channel only ever creates a
/// new account: in `Link` mode it is not offered.
pub fn section(mode: Mode, interaction: &str) -> String {
    let (heading, action, channels, cross_device) = match mode {
        Mode::Enroll => (
            "New here, or lost your passkey?",
            "create a passkey",
            "<p>Lost your passkey? Recover your account on this device with \
             <em>Use a licence stored in this browser's wallet</em> (offered by browsers that \
             support the Digital Credentials API): the QR code and the wallet link only create \
             new accounts. Or sign in with a passkey you still have.</p>\n",
            "",
        ),
        Mode::Link => (
            "Verify your identity (IAL2)",
            "confirm",
            "<p>Use the licence stored in this browser's wallet, on this device: a licence is \
             never linked to your account by scanning a QR code. This needs a browser that can \
             reach your wallet (the Digital Credentials API).</p>\n",
            " hidden",
        ),
    };
    format!(
        "<section id=\"mdl-proof\" data-mode=\"{mode}\" data-interaction=\"{}\" aria-labelledby=\"mdl-heading\">\n\
         <h2 id=\"mdl-heading\">{heading}</h2>\n\
         <p>Prove who you are with the mobile driver's licence in your phone's wallet, then \
         {action}. Only your name, birth date and the licence's issuer are asked for.</p>\n\
         {channels}\
         <p><button type=\"button\" id=\"mdl-start\">Verify with a mobile driver's licence</button></p>\n\
         <div id=\"mdl-wallet\" hidden>\n\
         <p{cross_device}>Scan this code with your phone's wallet app:</p>\n\
         <p{cross_device}><img id=\"mdl-qr\" alt=\"QR code to open your wallet app\" width=\"240\" height=\"240\"></p>\n\
         <p{cross_device}><a id=\"mdl-same-device\" href=\"#\">Open the wallet on this device</a></p>\n\
         <p><button type=\"button\" id=\"mdl-digital\" hidden>Use a licence stored in this browser's wallet</button></p>\n\
         </div>\n\
         <p id=\"mdl-status\" role=\"status\" aria-live=\"polite\"></p>\n\
         <form id=\"mdl-enroll\" hidden>\n\
         <p><label for=\"mdl-passkey-name\">Name this passkey (optional)</label>\n\
         <input id=\"mdl-passkey-name\" name=\"name\" maxlength=\"64\" autocomplete=\"off\"></p>\n\
         <p><button type=\"submit\">Create a passkey</button></p>\n\
         </form>\n\
         </section>",
        escape(interaction),
        mode = mode.as_str(),
    )
}
