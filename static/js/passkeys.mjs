// After a passkey is set up (django-otp-webauthn's registration script says so with an
// event), go on to the next step: the page names it in data-continue.
const step = document.getElementById("passkey-continue");
if (step) {
  document.addEventListener("otp_webauthn.register_complete", () => {
    window.location.assign(step.dataset.continue);
  });
}
