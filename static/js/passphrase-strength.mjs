// Whether a new staff passphrase is too easy to guess, on the device before it is split (the
// server cannot see an inspector's passphrase). It mirrors integrity/auth/strength.py rule for
// rule; both are tested against tests/vectors/passphrase-strength.json.

export const MIN_PASSPHRASE_LENGTH = 12;

// The most common passwords and keyboard patterns, lower case (same list as strength.py).
export const COMMON = [
  "password", "passphrase", "passwort", "motdepasse", "contrasena", "contraseña", "parola",
  "sifre", "şifre", "пароль", "qwerty", "qwertz", "azerty", "qwertyuiop", "azertyuiop",
  "asdfghjkl", "zxcvbnm", "qazwsx", "1q2w3e4r", "1qaz2wsx", "zaq12wsx", "letmein", "welcome",
  "iloveyou", "admin", "administrator", "changeme", "secret", "monkey", "dragon", "football",
  "baseball", "sunshine", "princess", "trustno1", "master", "login", "default", "integrity",
  "abc123", "123abc", "qwerty123", "password1", "superman", "starwars", "whatever", "freedom",
];

const SEPARATORS = /[\s\-_.,;:!?'"`*#@/\\|+=~^&%$()[\]{}<>]/gu;

function core(passphrase) {
  return passphrase.normalize("NFKC").toLowerCase().replace(SEPARATORS, "");
}

function isRepetition(text) {
  const chars = [...text];
  for (let size = 1; size <= chars.length / 2; size += 1) {
    if (chars.length % size !== 0) continue;
    const unit = chars.slice(0, size).join("");
    if (unit.repeat(chars.length / size) === text) return true;
  }
  return false;
}

function step(a, b) {
  const isDigit = (c) => c >= 48 && c <= 57;
  if (isDigit(a) && isDigit(b)) return ((b - a + 10) % 10 === 1) ? 1 : ((a - b + 10) % 10 === 1 ? -1 : 0);
  return b - a === 1 ? 1 : (a - b === 1 ? -1 : 0);
}

function isSequence(text) {
  const points = [...text].map((c) => c.codePointAt(0));
  if (points.length < 3) return false;
  const first = step(points[0], points[1]);
  if (first === 0) return false;
  for (let i = 1; i < points.length - 1; i += 1) {
    if (step(points[i], points[i + 1]) !== first) return false;
  }
  return true;
}

function isPattern(text) {
  return text === "" || new Set(text).size <= 2 || isRepetition(text) || isSequence(text)
    || COMMON.includes(text);
}

/** True for a passphrase shorter than the minimum, common, or a simple pattern. */
export function isWeakPassphrase(passphrase) {
  if (typeof passphrase !== "string") return true;
  if ([...passphrase.normalize("NFKC")].length < MIN_PASSPHRASE_LENGTH) return true;
  const text = core(passphrase);
  if (isPattern(text)) return true;
  // A common word or a pattern with digits before or after it: "password1234", "1234qwerty".
  const base = text.replace(/^[0-9]+|[0-9]+$/gu, "");
  return base !== text && (isPattern(base) || base.length < 4);
}
