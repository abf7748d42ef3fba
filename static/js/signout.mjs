// Every staff page (and the sign-in pages) stays connected to the keyring (static/js/keyring.mjs),
// which keeps it alive between pages; tells it the inspector is active, at most once a minute;
// wipes it when its owner signs out, and when the page has been idle for as long as the server
// allows (the server ends the session then too). The keyring also wipes itself after that time
// without a request.

import { keyringUrl, openKeyring, pageIdleMinutes } from "./keyring-client.mjs";

const TOUCH_EVERY_MS = 60 * 1000;
const WIPE_WAIT_MS = 2000;

const minutes = pageIdleMinutes();
const keyring = openKeyring(keyringUrl(), { idleMinutes: minutes || null });
keyring.catch(() => {}); // a page without a keyring still signs out

/** Wipe the keyring; resolves once it has answered, or after a short wait. */
function wipe() {
  const answered = keyring.then((client) => client.call("wipe"));
  const waited = new Promise((resolve) => setTimeout(resolve, WIPE_WAIT_MS));
  return Promise.race([answered, waited]).catch(() => {});
}

for (const form of document.querySelectorAll("form[data-signout]")) {
  form.addEventListener("submit", (event) => {
    if (form.dataset.wiped === "1") return;
    event.preventDefault(); // sent once the keyring is wiped
    wipe().then(() => {
      form.dataset.wiped = "1";
      form.requestSubmit();
    });
  });
}

if (minutes > 0) {
  let timer;
  let lastTouch = 0;
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      wipe().then(() => window.location.reload()); // the server now answers with the sign-in page
    }, minutes * 60 * 1000);
    if (Date.now() - lastTouch >= TOUCH_EVERY_MS) {
      lastTouch = Date.now();
      keyring.then((client) => client.call("touch")).catch(() => {});
    }
  };
  for (const name of ["pointerdown", "keydown", "scroll"]) {
    addEventListener(name, restart, { passive: true });
  }
  restart();
}
